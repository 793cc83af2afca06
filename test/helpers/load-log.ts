// `node --import` this module and every module the process loads through the ESM loader (ours, and the
// packages we import, CommonJS ones included) is appended by URL to the file named by QUIRE_LOAD_LOG.
import { register } from "node:module";

register("./load-log-hooks.js", import.meta.url, { data: { log: process.env.QUIRE_LOAD_LOG } });
