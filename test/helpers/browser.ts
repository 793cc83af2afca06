// A real Chromium (Debian's, at /usr/bin/chromium; .ci/run installs it) driven by playwright-core, with a
// fresh profile per launch, and the directory where tests leave screenshots for review.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext } from "playwright-core";
import { repoRoot } from "./paths.js";

export const CHROMIUM = "/usr/bin/chromium";

const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), "quire-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: ARGS,
    viewport: { width: 1280, height: 860 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Where screenshots go: $QUIRE_TEST_ARTIFACTS, else test-artifacts/ in the checkout (ignored by git). */
export function artifactsDir(): string {
  const dir = process.env.QUIRE_TEST_ARTIFACTS || join(repoRoot, "test-artifacts");
  mkdirSync(dir, { recursive: true });
  return dir;
}
