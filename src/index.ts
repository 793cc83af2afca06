// quire: the client and (from quire/runtime) the subprocess/PTY runtime.
export * from "./client/index.js";
export { Lane } from "./wire/lanes.js";
