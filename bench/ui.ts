// The runs page: a step's 50 MB log opened in a real Chromium (navigation to the run's page until the
// log's last line is drawn), against the same for a step's log of 50 lines. The page sends the end of a
// log first, so the ratio should stay near 1 whatever the log's size.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CiClient } from "../src/client/ci.js";
import { WebClient } from "../src/client/web.js";
import { launchBrowser } from "../test/helpers/browser.js";
import { heading, report } from "./lib/report.js";
import type { TestDaemon } from "./lib/servers.js";

const LINE = " of the log, long enough for fifty megabytes in half a million lines of it.......";

async function runOf(ci: CiClient, dir: string, name: string, lines: number): Promise<number> {
  const file = join(dir, `${name}.yml`);
  const text = `name: ${name}\njobs:\n  print:\n    steps:\n      - run: seq -f "line %08g${LINE}" 1 ${lines}\n`;
  writeFileSync(file, text);
  const run = await ci.submit(file, text, { noCache: true });
  const done = await ci.watch(run.id, () => {});
  if (done.state !== "complete") throw new Error(`bench run ${name} ended ${done.state}`);
  return Number(run.id);
}

export async function benchUi(daemon: TestDaemon, quick: boolean): Promise<void> {
  heading("runs page (a real Chromium)");
  const dir = mkdtempSync(join(tmpdir(), "quire-bench-ui-"));
  const ci = await CiClient.connect({ home: daemon.home, autostart: false });
  const web = await WebClient.connect({ home: daemon.home, autostart: false });
  const browser = await launchBrowser();
  try {
    const bigLines = quick ? 55_000 : 550_000;
    const big = await runOf(ci, dir, "big", bigLines);
    const small = await runOf(ci, dir, "small", 50);
    const { url, token } = await web.open();
    const page = await browser.context.newPage();
    await page.goto(`${url}?token=${token}`);
    await page.waitForURL(url);
    /** Milliseconds from navigating to the run's page until the last line of its log is drawn. */
    const open = async (id: number, last: number) => {
      const start = performance.now();
      await page.goto(`${url}runs/${id}`);
      await page.locator(".log .xterm-rows", { hasText: `line ${String(last).padStart(8, "0")}` }).waitFor({ timeout: 60_000 });
      return performance.now() - start;
    };
    const rounds = quick ? 3 : 7;
    const median = async (id: number, last: number) => {
      await open(id, last); // warm: the page's files and the log in the page cache
      const samples: number[] = [];
      for (let i = 0; i < rounds; i++) samples.push(await open(id, last));
      return samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]!;
    };
    const smallMs = await median(small, 50);
    const bigMs = await median(big, bigLines);
    report({
      bench: "ui",
      metric: `open a ${quick ? 5 : 50} MB step log, end first`,
      value: bigMs,
      unit: "ms",
      baseline: { name: "a 50-line log", value: smallMs },
    });
  } finally {
    await browser.close();
    web.close();
    ci.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
