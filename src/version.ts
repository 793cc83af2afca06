// quire's own version, read once from package.json (a leaf module: it imports nothing of ours).
import { readFileSync } from "node:fs";

const packageJson = new URL("../../package.json", import.meta.url);

export const QUIRE_VERSION: string = (JSON.parse(readFileSync(packageJson, "utf8")) as { version: string }).version;
