// The runs page in a real Chromium: the list updating as a run goes, a step's log as its terminal showed
// it (a progress bar drawn with \r resolved, colours), live while the step runs, harmless with HTML and
// OSC sequences in it, a 50 MB log opening at its end with earlier parts loaded on scroll, and cancel.
// Each page is saved as a screenshot (artifactsDir(): $QUIRE_TEST_ARTIFACTS or test-artifacts/).
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Page } from "playwright-core";
import { artifactsDir, launchBrowser, type TestBrowser } from "../helpers/browser.js";
import { startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { Gate } from "../helpers/gate.js";
import { tempRepos, writeFiles } from "../helpers/git.js";
import { quirectlJson } from "../helpers/quirectl.js";
import { runsPage, type RunsPage } from "../helpers/runs-page.js";

// Functions handed to page.evaluate and waitForFunction run in the browser, where these are defined.
declare const window: unknown;
declare const document: {
  querySelector(selector: string): { textContent: string | null; getAttribute(name: string): string | null } | null;
};
declare function getComputedStyle(element: unknown): { color: string };

const repos = tempRepos();
const WAIT_MS = 90_000;
/** The 50 MB log: this many lines of `line N` and this. */
const BIG_LINES = 540_000;
const BIG_LINE = " of a big log, long enough to make fifty megabytes in half a million lines.....";
const artifacts = artifactsDir();
console.log(`# screenshots of the runs page: ${artifacts}`);

let daemon: TestDaemon;
let browser: TestBrowser;
let site: RunsPage;
let page: Page;
/** What the page threw or logged as an error: nothing, by the end. */
const pageErrors: string[] = [];
before(async () => {
  daemon = await startTestDaemon();
  site = await runsPage(daemon.home);
  browser = await launchBrowser();
  page = await browser.context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on("pageerror", (error) => pageErrors.push(error.message));
  page.on("console", (message) => message.type() === "error" && pageErrors.push(message.text()));
  await page.goto(site.url);
  // The answer to the URL with the token refreshes to the page without it: in once that has loaded.
  await page.waitForURL(`http://127.0.0.1:${site.port}/`);
});
after(async () => {
  await browser?.close();
  await daemon?.stop();
});

/** A repository holding `pipeline` (lines of quire.yml) with a gate its steps can wait for. */
function pipelineRepo(lines: (gate: Gate) => string[]): { file: string; gate: Gate } {
  const dir = repos.make();
  const gate = new Gate(dir);
  writeFiles(dir, { "quire.yml": lines(gate).join("\n") });
  return { file: join(dir, "quire.yml"), gate };
}

async function submit(file: string, wait = false): Promise<number> {
  return (await quirectlJson(daemon.home, ["run", file, "--no-cache", ...(wait ? ["--wait"] : [])], wait ? undefined : 0)).id;
}

/** Opens a run's page at a step (by clicking it, as a person would) and waits for its log to be drawn. */
async function openStep(id: number, job: string, step: number): Promise<void> {
  await page.goto(`http://127.0.0.1:${site.port}/runs/${id}`);
  await page.locator(`li[data-step="${job}/${step}"]`).click();
  await page.waitForSelector(".log-panel[data-state='ready'], .log-panel[data-state='live']");
}

// biome-ignore lint/performance/useDomNodeTextContent: the rendered text, a line per terminal row
const terminalText = () => page.locator(".log .xterm-rows").innerText();

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`) });
}

describe("the list", () => {
  test("shows a run as it goes, without reloading, newest first with its ref, commit and state", async () => {
    await page.goto(`http://127.0.0.1:${site.port}/`);
    const { file, gate } = pipelineRepo((g) => [
      "name: listed",
      "jobs:",
      "  slow:",
      "    steps:",
      `      - run: ${JSON.stringify(g.wait)}`,
    ]);
    const id = await submit(file);
    const row = page.locator(`tr[data-run="${id}"]`);
    await page.waitForSelector(`tr[data-run="${id}"][data-state="active"]`);
    assert.match((await row.textContent()) ?? "", /listed/);
    assert.match((await row.textContent()) ?? "", /main/);
    await shot("runs-list-active");
    gate.open();
    await page.waitForSelector(`tr[data-run="${id}"][data-state="complete"]`);
    const first = await page.locator("tbody tr").first().getAttribute("data-run");
    assert.equal(Number(first), id, "newest first");
    await page.selectOption("select[name=state]", "failed");
    assert.equal(await row.count(), 0, "the state filter hides a complete run");
    await page.selectOption("select[name=state]", "");
    assert.equal(await row.count(), 1);
    await shot("runs-list");
  });
});

describe("a step's log", () => {
  test("is drawn as the terminal showed it: a \\r progress bar resolved, colours, and HTML and OSC shown as text", async () => {
    const { file } = pipelineRepo(() => [
      "name: drawn",
      "jobs:",
      "  build:",
      "    steps:",
      "      - name: progress",
      "        run: |",
      "          for i in 1 2 3 4 5 6 7 8 9 10; do printf '\\r[%-10s] %3d%%' \"$(printf '#%.0s' $(seq $i))\" $((i*10)); done; echo",
      "          printf '\\033[31mred text\\033[0m and \\033[32mgreen text\\033[0m\\n'",
      "          printf '<script>window.pwned=1</script><img src=x onerror=window.pwned=2>\\n'",
      "          printf '\\033]0;pwned-title\\007\\033]2;pwned-title\\007\\033]8;;https://evil.example/\\007click me\\033]8;;\\007\\n'",
    ]);
    const id = await submit(file, true);
    let popups = 0;
    browser.context.on("page", () => popups++);
    await openStep(id, "build", 0);
    await page.waitForFunction(() => document.querySelector(".log .xterm-rows")?.textContent?.includes("click me"));
    const lines = (await terminalText()).split("\n").map((l) => l.trimEnd());
    assert.ok(lines.includes("[##########] 100%"), lines.join("\n"));
    assert.ok(!lines.some((l) => l.includes(" 90%") || l.includes(" 10%")), "each \\r redrew the bar in place");
    assert.equal(await page.locator(".log .xterm-rows span.xterm-fg-1", { hasText: "red text" }).count(), 1);
    assert.equal(await page.locator(".log .xterm-rows span.xterm-fg-2", { hasText: "green text" }).count(), 1);
    // The colour as drawn: the green cell's computed colour is xterm's green, not the default foreground.
    const colour = await page
      .locator(".log .xterm-rows span.xterm-fg-2")
      .first()
      .evaluate((e) => getComputedStyle(e).color);
    const plain = await page
      .locator(".log .xterm-rows span", { hasText: "and" })
      .first()
      .evaluate((e) => getComputedStyle(e).color);
    assert.notEqual(colour, plain);
    assert.ok(lines.includes("<script>window.pwned=1</script><img src=x onerror=window.pwned=2>"), "HTML shows as text");
    assert.equal(await page.evaluate(() => (window as { pwned?: number }).pwned), undefined, "nothing of it ran");
    assert.equal(await page.locator("main script, main img").count(), 0);
    assert.equal(await page.title(), `quire run #${id}`, "OSC 0/2 set no title");
    assert.ok(lines.includes("click me"), "an OSC 8 link's text shows");
    assert.equal(await page.locator('a[href*="evil"]').count(), 0);
    // Where the link's text is drawn, clicked as a person would (xterm's screen takes the pointer).
    const box = (await page.locator(".log .xterm-rows span", { hasText: "click me" }).boundingBox())!;
    await page.mouse.move(box.x + 5, box.y + box.height / 2);
    await page.mouse.click(box.x + 5, box.y + box.height / 2);
    await page.keyboard.down("Control");
    await page.mouse.click(box.x + 5, box.y + box.height / 2);
    await page.keyboard.up("Control");
    assert.equal(popups, 0, "an OSC 8 link opens nothing");
    await shot("run-log");
  });

  test("is followed while the step runs", async () => {
    const { file, gate } = pipelineRepo((g) => [
      "name: followed",
      "jobs:",
      "  live:",
      "    steps:",
      "      - name: talk",
      `        run: echo before the gate; ${g.wait}; echo after the gate`,
    ]);
    const id = await submit(file);
    await page.goto(`http://127.0.0.1:${site.port}/runs/${id}`);
    await page.waitForSelector('li[data-step="live/0"][data-state="active"]');
    await page.locator('li[data-step="live/0"]').click();
    await page.waitForFunction(() => document.querySelector(".log .xterm-rows")?.textContent?.includes("before the gate"));
    assert.equal(await page.locator(".log-panel").getAttribute("data-state"), "live");
    gate.open();
    await page.waitForFunction(() => document.querySelector(".log .xterm-rows")?.textContent?.includes("after the gate"));
    await page.waitForSelector('[data-run-state="complete"]');
  });

  test("keeps links, titles, the clipboard and DCS inert when their sequences come split across the stream", async () => {
    const dir = repos.make();
    const [first, second] = [new Gate(dir, "first"), new Gate(dir, "second")];
    writeFiles(dir, {
      "quire.yml": [
        "name: split",
        "jobs:",
        "  split:",
        "    steps:",
        "      - name: print",
        "        run: |",
        "          printf 'part one\\n\\033]8;;https://evil.exa'",
        `          ${first.wait}`,
        "          printf 'mple/\\007split link\\033]8;;\\007\\n\\033]0;split-ti'",
        `          ${second.wait}`,
        "          printf 'tle\\007\\033]52;c;cHduZWQ=\\007\\033P$qm\\033\\\\part two\\n'",
      ].join("\n"),
    });
    const id = await submit(join(dir, "quire.yml"));
    let popups = 0;
    let dialogs = 0;
    const popup = () => popups++;
    const dialog = () => dialogs++;
    browser.context.on("page", popup);
    page.on("dialog", dialog);
    try {
      await page.goto(`http://127.0.0.1:${site.port}/runs/${id}`);
      await page.waitForSelector('li[data-step="split/0"][data-state="active"]');
      await page.locator('li[data-step="split/0"]').click();
      await page.locator(".log .xterm-rows", { hasText: "part one" }).waitFor();
      first.open();
      await page.locator(".log .xterm-rows", { hasText: "split link" }).waitFor();
      second.open();
      await page.locator(".log .xterm-rows", { hasText: "part two" }).waitFor();
      const text = await terminalText();
      assert.ok(!/evil|split-ti|tle|cHduZWQ|\$qm/.test(text), text);
      assert.equal(await page.title(), `quire run #${id}`);
      assert.equal(await page.locator('a[href*="evil"]').count(), 0);
      const box = (await page.locator(".log .xterm-rows span", { hasText: "split link" }).boundingBox())!;
      await page.mouse.move(box.x + 5, box.y + box.height / 2);
      await page.mouse.click(box.x + 5, box.y + box.height / 2);
      await page.keyboard.down("Control");
      await page.mouse.click(box.x + 5, box.y + box.height / 2);
      await page.keyboard.up("Control");
      assert.equal(popups + dialogs, 0, "the split OSC 8 link opens nothing and asks nothing");
      await page.waitForSelector('[data-run-state="complete"]');
    } finally {
      browser.context.off("page", popup);
      page.off("dialog", dialog);
      first.open();
      second.open();
    }
  });

  test("names holding bidi controls show them as their codes, so nothing after them is drawn reversed", async () => {
    const { file } = pipelineRepo(() => [
      "name: bidi",
      "jobs:",
      "  names:",
      "    steps:",
      '      - name: "invoice\\u202Efdp.exe"',
      "        run: echo named",
    ]);
    const id = await submit(file, true);
    await page.goto(`http://127.0.0.1:${site.port}/runs/${id}`);
    const text = await page.locator('li[data-step="names/0"]').textContent();
    assert.ok(text?.includes("invoice<U+202E>fdp.exe"), text ?? "");
    assert.ok(!text?.includes("\u202E"), text ?? "");
  });

  test("of a step printing as fast as its terminal goes keeps the tab answering, and ends drawn to its last line", async () => {
    const { file, gate } = pipelineRepo((g) => [
      "name: flood",
      "jobs:",
      "  flood:",
      "    steps:",
      "      - name: print",
      `        run: echo flood coming; ${g.wait}; head -c 100000000 /dev/zero | tr '\\0' x | fold -w 125; echo flood done`,
    ]);
    const id = await submit(file);
    await page.goto(`http://127.0.0.1:${site.port}/runs/${id}`);
    await page.waitForSelector('li[data-step="flood/0"][data-state="active"]');
    await page.locator('li[data-step="flood/0"]').click();
    await page.locator(".log .xterm-rows", { hasText: "flood coming" }).waitFor();
    gate.open();
    // While the step prints, the page still runs its script between frames: each of these is answered.
    const states = new Set<string>();
    while ((await quirectlJson(daemon.home, ["runs", "show", String(id)])).state === "active")
      states.add(await page.evaluate(() => document.querySelector(".log-panel")?.getAttribute("data-state") ?? ""));
    await page.locator(".log .xterm-rows", { hasText: "flood done" }).waitFor();
    assert.ok(states.has("live") || states.has("catching-up"), [...states].join(", "));
    await shot("run-flood");
  });

  test("of 50 MB opens at its end, and earlier parts load as it is scrolled up", async () => {
    const { file } = pipelineRepo(() => [
      "name: big",
      "jobs:",
      "  big:",
      "    steps:",
      "      - name: print",
      `        run: seq -f "line %08g${BIG_LINE}" 1 ${BIG_LINES}`,
    ]);
    const id = await submit(file, true);
    await openStep(id, "big", 0);
    await page.waitForFunction((last) => document.querySelector(".log .xterm-rows")?.textContent?.includes(last), `line 00${BIG_LINES}`);
    const panel = page.locator(".log-panel");
    const from = Number(await panel.getAttribute("data-from"));
    assert.ok(from > 49_000_000, `the end came first: the view starts at byte ${from}`);
    const firstShown = async () => Number(/line (\d{8})/.exec(await terminalText())?.[1]);
    assert.ok((await firstShown()) > BIG_LINES - 100);
    await shot("run-big-log-end");
    // Scrolled to the top as a person would: the terminal's scrollbar dragged up.
    const slider = (await page.locator(".log .scrollbar.vertical .slider").boundingBox())!;
    await page.mouse.move(slider.x + slider.width / 2, slider.y + slider.height / 2);
    await page.mouse.down();
    await page.mouse.move(slider.x + slider.width / 2, slider.y - 2_000, { steps: 4 });
    await page.mouse.up();
    await page.waitForFunction(
      (start) => Number(document.querySelector(".log-panel[data-state='ready']")?.getAttribute("data-from")) < start,
      from,
    );
    await page.waitForSelector(".log-panel[data-state='ready']");
    const earlier = Number(await panel.getAttribute("data-from"));
    assert.ok(earlier < from, `an earlier part loaded: ${earlier} < ${from}`);
    // Every line is as long (the PTY ends each with \r\n): the first line the end-first view held.
    const lineBytes = Buffer.byteLength(`line 00000001${BIG_LINE}\r\n`);
    const firstOfEnd = BIG_LINES - Math.floor((BIG_LINES * lineBytes - from) / lineBytes) + 1;
    await page.waitForFunction((n) => {
      const m = /line (\d{8})/.exec(document.querySelector(".log .xterm-rows")?.textContent ?? "");
      return m !== null && Number(m[1]) < n;
    }, firstOfEnd);
    await shot("run-big-log-earlier");
  });
});

describe("cancel", () => {
  test("from the run's page ends the run, and the page shows it", async () => {
    const { file } = pipelineRepo(() => ["name: cancelled", "jobs:", "  forever:", "    steps:", "      - run: echo waiting; sleep 600"]);
    const id = await submit(file);
    await page.goto(`http://127.0.0.1:${site.port}/runs/${id}`);
    await page.waitForSelector('li[data-step="forever/0"][data-state="active"]');
    await shot("run-active");
    await page.locator('button[data-action="cancel"]').click();
    await page.waitForSelector('[data-run-state="cancelled"]');
    assert.equal((await quirectlJson(daemon.home, ["runs", "show", String(id)])).state, "cancelled");
    assert.equal(await page.locator('button[data-action="cancel"]').isDisabled(), true);
    await shot("run-cancelled");
  });
});

test("the page raised no error on the way", () => {
  assert.deepEqual(pageErrors, []);
});
