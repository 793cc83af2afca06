// `quirectl ui` as a person runs it: it starts the default browser (here a stand-in xdg-open that says
// what it was given) on its launcher file, and a real Chromium opening that file lands on the runs list,
// in, with no token left in the address bar. The launcher is a file:// page, so the way in is a
// cross-site navigation, on which a browser sends no SameSite=Strict cookie.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { pathToFileURL } from "node:url";
import { launchBrowser, type TestBrowser } from "../helpers/browser.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { quirectl } from "../helpers/quirectl.js";
import { fakeOpener } from "../helpers/runs-page.js";

let daemon: TestDaemon;
let browser: TestBrowser;
const bin = mkdtempSync(join(tmpdir(), "quire-opener-"));
before(async () => {
  daemon = await startTestDaemon();
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await daemon?.stop();
  rmSync(bin, { recursive: true, force: true });
});

test("the browser quirectl ui opens lands on the runs list, in, without the token in its address", {
  skip: process.platform !== "linux" && "xdg-open",
}, async () => {
  const opener = fakeOpener(bin);
  const r = await quirectl(daemon.home, ["ui"], { env: { PATH: `${bin}:${process.env.PATH}` } });
  assert.equal(r.code, 0, r.stderr);
  const port = new URL(r.stdout.trim()).port;
  const launcher = await opener.opened();
  const page = await browser.context.newPage();
  await page.goto(pathToFileURL(launcher).href);
  await page.waitForURL(`http://127.0.0.1:${port}/`);
  await page.locator("main .filters").waitFor();
  assert.ok(!page.url().includes("token"), page.url());
  // Each refresh on the way replaced its entry: going back does not reach the URL with the token.
  await page.goBack();
  assert.ok(!page.url().includes("token"), page.url());
  const cookies = await browser.context.cookies(`http://127.0.0.1:${port}/`);
  assert.deepEqual(
    cookies.map((c) => [c.name, c.httpOnly, c.sameSite]),
    [["quire_page", true, "Strict"]],
  );
});
