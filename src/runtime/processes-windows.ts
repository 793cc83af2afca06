// Processes on Windows (and any platform without /proc or ps): nothing is looked up. Trees end through
// `taskkill /T` (terminate.ts), which needs none of this; ConPTY sources report no holders.
import type { ProcessPlatform } from "./process-platform.js";

export const windowsProcesses: ProcessPlatform = {
  describe: () => undefined,
  listProcesses: async () => [],
  findHolders: async () => new Map(),
  ticksSinceBoot: () => undefined,
  forkMark: () => 0,
  mayHaveMembers: async () => true,
  pidMark: () => undefined,
  createdSince: async () => undefined,
};
