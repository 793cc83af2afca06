// quirectl ui: prints the runs page's URL (with its token), opens it through a 0600 launcher file (so the
// token is on no command line), finds the same page a second time, and refuses a bad or another port.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";
import { exchangedTo, fakeOpener, http } from "../helpers/runs-page.js";

let daemon: TestDaemon;
const bin = mkdtempSync(join(tmpdir(), "quire-opener-"));
before(async () => {
  daemon = await startTestDaemon();
});
after(async () => {
  await daemon?.stop();
  rmSync(bin, { recursive: true, force: true });
});

describe("quirectl ui", () => {
  test("prints the URL with the token, and a second ui finds the same page", async () => {
    const first = await quirectl(daemon.home, ["ui", "--no-open"]);
    assert.equal(first.code, 0, first.stderr);
    const url = new URL(first.stdout.trim());
    assert.equal(url.hostname, "127.0.0.1");
    assert.match(url.searchParams.get("token")!, /^[0-9a-f]{64}$/);
    const again = await quirectlJson(daemon.home, ["ui", "--no-open"]);
    assert.equal(again.url, url.href);
    assert.equal(again.port, Number(url.port));
    assert.equal(exchangedTo(await http(Number(url.port), `/?token=${url.searchParams.get("token")}`)), "/");
  });

  test("opens the default browser on a launcher file only its owner can read", {
    skip: process.platform !== "linux" && "xdg-open",
  }, async () => {
    const opener = fakeOpener(bin);
    const r = await quirectl(daemon.home, ["ui"], { env: { PATH: `${bin}:${process.env.PATH}` } });
    assert.equal(r.code, 0, r.stderr);
    const launcher = await opener.opened();
    assert.ok(!launcher.includes("token"), "the opener's command line holds no token");
    assert.equal(statSync(launcher).mode & 0o777, 0o600);
    assert.ok(readFileSync(launcher, "utf8").includes(r.stdout.trim()), "the launcher sends the browser to the printed URL");
  });

  test("says so when there is no browser to open, and still prints the URL", async () => {
    const r = await quirectl(daemon.home, ["ui"], { env: { PATH: bin.replace("opener", "nothing") } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    assert.match(r.stderr, /could not start .*open the URL above in a browser/);
  });

  test("--port other than the page's is refused naming where it is; a bad --port is a usage error", async () => {
    const { port } = await quirectlJson(daemon.home, ["ui", "--no-open"]);
    const other = await quirectlJson(daemon.home, ["ui", "--no-open", "--port", String(port === 65535 ? 65534 : port + 1)], 1);
    assert.equal(other.error.code, "QUIRE_ERR_WEB_PORT_MISMATCH");
    assert.ok(other.error.message.includes(`127.0.0.1:${port}`), other.error.message);
    assert.equal((await quirectlJson(daemon.home, ["ui", "--no-open", "--port", String(port)])).port, port);
    for (const bad of ["0", "65536", "http"]) assert.equal((await quirectl(daemon.home, ["ui", "--no-open", "--port", bad])).code, 2, bad);
  });
});

describe("quirectl ui --port on a fresh daemon", () => {
  test("serves on that port, and a port something else holds is refused with its code", async () => {
    const fresh = await startTestDaemon();
    const holder = createServer();
    try {
      await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
      const taken = (holder.address() as { port: number }).port;
      const refused = await quirectlJson(fresh.home, ["ui", "--no-open", "--port", String(taken)], 1);
      assert.equal(refused.error.code, "QUIRE_ERR_WEB_PORT_UNAVAILABLE");
      holder.close();
      await new Promise<void>((resolve) => holder.once("close", resolve));
      assert.equal((await quirectlJson(fresh.home, ["ui", "--no-open", "--port", String(taken)])).port, taken);
    } finally {
      holder.close();
      await fresh.stop();
    }
  });
});
