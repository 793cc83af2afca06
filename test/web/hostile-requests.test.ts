// The runs page against requests a hostile peer makes on purpose, over raw HTTP: a token that is not
// ASCII, a request target that is not a path (absolute-form, `//name`), a token exchange that would send
// the browser to another site, paths that climb out of the page's files, a flood of event streams, and
// the web backend killed while it serves one.
import assert from "node:assert/strict";
import { type IncomingMessage, request } from "node:http";
import { after, before, describe, test } from "node:test";
import { adminCall, AdminOp } from "../../src/client/admin-calls.js";
import { MAX_STREAMS } from "../../src/web/api.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { eventually } from "../helpers/eventually.js";
import { exchangedTo, http, runsPage, type RunsPage } from "../helpers/runs-page.js";

let daemon: TestDaemon;
let page: RunsPage;
const open: Array<{ destroy(): void }> = [];
before(async () => {
  daemon = await startTestDaemon();
  page = await runsPage(daemon.home);
});
after(async () => {
  for (const stream of open) stream.destroy();
  await daemon?.stop();
});

const withCookie = (extra: Record<string, string> = {}) => ({ headers: { Cookie: page.cookie, ...extra } });

/** The page still answers on its port: the backend serving it did not die. */
async function stillServed(): Promise<void> {
  assert.equal((await http(page.port, "/api/runs", withCookie())).status, 200);
  assert.equal((await runsPage(daemon.home)).port, page.port);
}

describe("the token", () => {
  test("a guess that is as long as the token but not ASCII is refused, and the page stays up", async () => {
    const guess = encodeURIComponent(`é${"a".repeat(63)}`);
    assert.equal((await http(page.port, `/?token=${guess}`)).status, 401);
    assert.equal((await http(page.port, "/", { headers: { Cookie: `quire_page=${guess}` } })).status, 401);
    assert.equal((await http(page.port, "/", { headers: { Cookie: `quire_page=é${"a".repeat(63)}` } })).status, 401);
    await stillServed();
  });

  test("exchanged for the cookie, it sends the browser on to a path of this page, never to another site", async () => {
    for (const target of ["/x/..//evil.example/", "/x/..///evil.example/", "/a/../%2F/evil.example"]) {
      const answer = await http(page.port, `${target}?token=${page.token}`);
      const location = String(exchangedTo(answer));
      assert.ok(location.startsWith("/") && !/^\/[/\\]/.test(location), `${target} -> ${location}`);
      assert.equal(new URL(location, `http://127.0.0.1:${page.port}`).host, `127.0.0.1:${page.port}`, location);
    }
  });
});

describe("the request target", () => {
  test("absolute-form naming another host, or a path starting with // or /\\, is refused with the cookie too", async () => {
    for (const target of [
      "http://evil.example/api/runs",
      `http://127.0.0.1:${page.port}/api/runs`,
      "//evil.example/api/runs",
      "/\\evil.example/api/runs",
    ]) {
      const answer = await http(page.port, target, withCookie());
      assert.equal(answer.status, 400, target);
      assert.ok(!answer.body.toString().includes('"id"'), target);
    }
    await stillServed();
  });

  test("paths that climb, encoded or not, reach no file but the page's own", async () => {
    for (const path of [
      "/app/../../package.json",
      "/app/%2e%2e/%2e%2e/package.json",
      "/app/..%2f..%2fpackage.json",
      "/app/..\\..\\package.json",
      "/vendor/..%5c..%5cpackage.json",
      `/app/${"a".repeat(8000)}.js`,
      "/api/runs/1/log?job=..%2F..&step=0",
    ]) {
      const answer = await http(page.port, path, withCookie());
      assert.ok(answer.status === 404 || answer.status === 400, `${path.slice(0, 60)}: ${answer.status}`);
      assert.ok(!answer.body.toString().includes('"devDependencies"'), path.slice(0, 60));
    }
    await stillServed();
  });
});

describe("event streams", () => {
  test(`at most ${MAX_STREAMS} are open at once; one more is refused, and one closing makes room`, async () => {
    for (let i = 0; i < MAX_STREAMS; i++) open.push(await eventStream(`/api/runs/${1000 + i}/events`, 200));
    await eventStream("/api/runs/events", 503);
    await eventStream("/api/runs/1/log?job=x&step=0&follow=1", 503);
    open.pop()!.destroy();
    open.push(await eventually(() => eventStream("/api/runs/events").catch(() => undefined), "a stream closing to make room for another"));
  });
});

describe("the web backend killed mid-stream", () => {
  test("ends the stream it served, and is served again on the same port with the same token", async () => {
    for (const flood of open.splice(0)) flood.destroy();
    const stream = await eventually(() => eventStream("/api/runs/events").catch(() => undefined), "the flood's streams to close");
    const ended = new Promise<void>((resolve) => stream.response.once("close", resolve));
    const { status } = await adminCall(AdminOp.STATUS, { home: daemon.home, timeoutMs: 10_000 });
    const web = status!.backends.find((b) => b.service === "web" && b.pid > 0);
    assert.ok(web, "the web backend runs");
    process.kill(web.pid, "SIGKILL");
    await ended;
    stream.destroy();
    const again = await runsPage(daemon.home);
    assert.deepEqual([again.port, again.token], [page.port, page.token], "a tab open on the page finds it again");
    assert.equal((await http(page.port, "/api/runs", withCookie())).status, 200);
  });
});

/** Opens `path` as an event stream and resolves once its status is in (rejects on another than `status`). */
function eventStream(path: string, status = 200): Promise<{ response: IncomingMessage; destroy(): void }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: page.port, path, headers: { Host: `127.0.0.1:${page.port}`, Cookie: page.cookie } },
      (res) => {
        if (res.statusCode !== status) {
          res.resume();
          return reject(new Error(`${path}: ${res.statusCode}, not ${status}`));
        }
        res.resume();
        resolve({ response: res, destroy: () => req.destroy() });
      },
    );
    req.on("error", reject);
    req.end();
  });
}
