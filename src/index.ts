// quire: the subprocess/PTY runtime and the client, for embedding in any Node program.
export * from "./client/index.js";
export { run, spawn, Subprocess, type RunResult, type SpawnOptions, type ExpectMatch } from "./runtime/index.js";
export { Lane } from "./wire/lanes.js";
