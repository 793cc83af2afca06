// Finding a command on PATH before spawning, so "not found" is an error that says so.
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import { CommandNotFoundError } from "./errors.js";

export function resolveCommand(file: string, env: Record<string, string>, cwd: string): string {
  if (file.includes("/") || (process.platform === "win32" && file.includes("\\"))) {
    const path = isAbsolute(file) ? file : resolve(cwd, file);
    if (isExecutable(path)) return path;
    throw new CommandNotFoundError(file, path);
  }
  const searchPath = env.PATH ?? env.Path ?? "";
  const extensions = process.platform === "win32" ? (env.PATHEXT ?? ".EXE;.CMD;.BAT").split(";").concat("") : [""];
  for (const dir of searchPath.split(delimiter)) {
    if (!dir) continue;
    for (const ext of extensions) {
      const candidate = join(resolve(cwd, dir), file + ext);
      if (isExecutable(candidate)) return candidate;
    }
  }
  throw new CommandNotFoundError(file, searchPath);
}

function isExecutable(path: string): boolean {
  try {
    // Most of PATH does not have the file: say so without the cost of an exception.
    if (!statSync(path, { throwIfNoEntry: false })?.isFile()) return false;
    if (process.platform !== "win32") accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
