// The runs page lets nobody else in, over raw HTTP (node's own client, every header as the test means
// it): no token, a wrong Host (DNS rebinding), a foreign Origin on cancel, and a log holding HTML and
// escape sequences, which is sent as the bytes it is and never as something a browser would render.
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { Gate } from "../helpers/gate.js";
import { tempRepos, writeFiles } from "../helpers/git.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";
import { exchangedTo, http, runsPage, type RunsPage } from "../helpers/runs-page.js";

const repos = tempRepos();
const SECRET = "s3cret-value-that-must-never-show";
const HOSTILE = "<script>alert(1)</script>\x1b]0;pwned\x07\x1b]8;;https://evil.example/\x07link\x1b]8;;\x07";

let daemon: TestDaemon;
let page: RunsPage;
let logged: number;
before(async () => {
  daemon = await startTestDaemon();
  assert.equal((await quirectl(daemon.home, ["secret", "set", "PAGE_SECRET"], { input: SECRET })).code, 0);
  const dir = repos.make({
    "quire.yml": [
      "name: hostile",
      "jobs:",
      "  print:",
      "    secrets: [PAGE_SECRET]",
      "    steps:",
      "      - name: hostile",
      "        run: |",
      "          printf '<script>alert(1)</script>\\033]0;pwned\\007\\033]8;;https://evil.example/\\007link\\033]8;;\\007\\n'",
      '          echo "secret=$PAGE_SECRET"',
    ].join("\n"),
  });
  logged = (await quirectlJson(daemon.home, ["run", join(dir, "quire.yml"), "--wait"])).id;
  page = await runsPage(daemon.home);
});
after(async () => {
  await daemon?.stop();
});

const withCookie = (extra: Record<string, string> = {}) => ({ headers: { Cookie: page.cookie, ...extra } });

describe("the token", () => {
  test("without it every path is 401, the page's files included", async () => {
    for (const path of ["/", "/api/runs", `/api/runs/${logged}`, "/api/runs/events", "/app/main.js", "/vendor/xterm.mjs", "/nowhere"]) {
      const answer = await http(page.port, path);
      assert.equal(answer.status, 401, path);
      assert.ok(!answer.body.toString().includes(page.token), path);
    }
    assert.equal((await http(page.port, "/api/runs", { headers: { Cookie: "quire_page=0000" } })).status, 401);
    assert.equal((await http(page.port, "/api/runs", { headers: { Cookie: `quire_page=${"0".repeat(64)}` } })).status, 401);
    assert.equal((await http(page.port, `/?token=${"f".repeat(64)}`)).status, 401);
  });

  test("in the URL it is exchanged for an HttpOnly SameSite=Strict cookie, and the URL is cleaned", async () => {
    const answer = await http(page.port, `/runs/${logged}?token=${page.token}&x=1`);
    assert.equal(exchangedTo(answer), `/runs/${logged}?x=1`);
    assert.ok(!answer.body.toString().includes(page.token), "the page that sends the browser on does not hold the token");
    const cookie = String(answer.headers["set-cookie"]);
    assert.match(cookie, new RegExp(`^quire_page=${page.token};`));
    for (const attribute of ["HttpOnly", "SameSite=Strict", "Path=/"]) assert.ok(cookie.includes(attribute), cookie);
    assert.equal((await http(page.port, "/api/runs", withCookie())).status, 200);
    const again = await http(page.port, `/?token=${page.token}`, withCookie());
    assert.equal(exchangedTo(again), "/", "a browser already in is sent on without the token too");
  });

  test("is not taken from the URL of a request that changes something", async () => {
    const origin = { Origin: `http://127.0.0.1:${page.port}` };
    const answer = await http(page.port, `/api/runs/${logged}/rerun?token=${page.token}`, { method: "POST", headers: origin });
    assert.equal(answer.status, 401);
  });

  test("lives in QUIRE_HOME, readable by its owner only, and a second quirectl ui finds the same page", async () => {
    const file = join(daemon.home, "web.token");
    if (process.platform !== "win32") assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, "utf8").trim(), page.token);
    assert.deepEqual(await runsPage(daemon.home), page);
  });
});

describe("the Host header", () => {
  test("another name (a rebound DNS name), another port or none is refused, cookie or not", async () => {
    for (const host of [`evil.example:${page.port}`, `127.0.0.1:${page.port + 1}`, "127.0.0.1", "localhost", `127.0.0.2:${page.port}`]) {
      const answer = await http(page.port, "/api/runs", withCookie({ Host: host }));
      assert.equal(answer.status, 421, host);
    }
  });

  test("the loopback names and the port are served", async () => {
    for (const host of [`127.0.0.1:${page.port}`, `localhost:${page.port}`, `[::1]:${page.port}`])
      assert.equal((await http(page.port, "/api/runs", withCookie({ Host: host }))).status, 200, host);
  });

  test("the page listens on loopback only", { skip: process.platform !== "linux" && "reads /proc/net" }, () => {
    const hex = page.port.toString(16).toUpperCase().padStart(4, "0");
    const listening = (file: string) =>
      readFileSync(file, "utf8")
        .split("\n")
        .slice(1)
        .map((line) => line.trim().split(/\s+/))
        .filter((f) => f[1]?.endsWith(`:${hex}`) && f[3] === "0A")
        .map((f) => f[1]!.split(":")[0]);
    assert.deepEqual(listening("/proc/net/tcp"), ["0100007F"]);
    for (const address of listening("/proc/net/tcp6")) assert.equal(address, "00000000000000000000000001000000");
  });
});

describe("a change", () => {
  test("from a foreign Origin, or with none, is refused and changes nothing; from the page it cancels", async () => {
    const dir = repos.make();
    const gate = new Gate(dir);
    writeFiles(dir, {
      "quire.yml": ["name: held", "jobs:", "  wait:", "    steps:", `      - run: ${JSON.stringify(gate.wait)}`].join("\n"),
    });
    const run = await quirectlJson(daemon.home, ["run", join(dir, "quire.yml")]);
    await eventually(
      async () => (await quirectlJson(daemon.home, ["runs", "show", String(run.id)])).state === "active",
      "the run is active",
      60_000,
    );
    const cancel = `/api/runs/${run.id}/cancel`;
    for (const origin of ["http://evil.example", `http://evil.example:${page.port}`, "null", `https://127.0.0.1:${page.port}`, undefined]) {
      const headers: Record<string, string> = { Cookie: page.cookie };
      if (origin !== undefined) headers.Origin = origin;
      const answer = await http(page.port, cancel, { method: "POST", headers });
      assert.equal(answer.status, 403, String(origin));
      assert.equal(answer.headers["access-control-allow-origin"], undefined);
    }
    assert.equal((await quirectlJson(daemon.home, ["runs", "show", String(run.id)])).state, "active");
    const answer = await http(page.port, cancel, {
      method: "POST",
      headers: { Cookie: page.cookie, Origin: `http://127.0.0.1:${page.port}` },
    });
    assert.equal(answer.status, 200, answer.body.toString());
    assert.equal((await quirectlJson(daemon.home, ["runs", "show", String(run.id)])).state, "cancelled");
    gate.open();
  });

  test("no answer carries a CORS header, whatever the Origin", async () => {
    const answer = await http(page.port, "/api/runs", withCookie({ Origin: "http://evil.example" }));
    assert.equal(answer.status, 200);
    for (const name of Object.keys(answer.headers)) assert.ok(!name.startsWith("access-control-"), name);
  });
});

describe("what the answers hold", () => {
  test("every answer has the strict CSP, nosniff and no framing", async () => {
    for (const path of ["/", "/app/main.js", "/api/runs", "/nowhere"]) {
      const { headers } = await http(page.port, path, withCookie());
      const csp = String(headers["content-security-policy"]);
      assert.match(csp, /default-src 'self'/, path);
      assert.match(csp, /script-src 'self';/, path);
      assert.match(csp, /frame-ancestors 'none'/, path);
      assert.ok(!/unsafe-eval/.test(csp) && !/script-src[^;]*unsafe-inline/.test(csp), csp);
      assert.equal(headers["x-content-type-options"], "nosniff", path);
      assert.equal(headers["x-frame-options"], "DENY", path);
    }
  });

  test("a log holding HTML and OSC sequences is sent as its bytes, typed as bytes, with the secret redacted", async () => {
    const answer = await http(page.port, `/api/runs/${logged}/log?job=print&step=0&tail=100000`, withCookie());
    assert.equal(answer.status, 200);
    assert.equal(answer.headers["content-type"], "application/octet-stream");
    const text = answer.body.toString("utf8");
    assert.ok(text.includes(HOSTILE), JSON.stringify(text));
    assert.ok(!text.includes(SECRET), "the page shows the log as stored: redacted");
    assert.ok(text.includes("secret=***"), JSON.stringify(text));
    const run = (await http(page.port, `/api/runs/${logged}`, withCookie())).body.toString();
    assert.ok(!run.includes(SECRET));
    assert.ok(!run.includes("/logs/"), "a run's JSON names no log file");
  });

  test("a log is asked for by job and step, never by path", async () => {
    for (const query of [
      "job=print&step=1",
      "job=print&step=-1",
      "job=../print&step=0",
      "job=print&step=..%2F..%2Fquire.db",
      "job=nope&step=0",
      "step=0",
    ]) {
      const answer = await http(page.port, `/api/runs/${logged}/log?${query}`, withCookie());
      assert.equal(answer.status, 404, query);
    }
  });
});
