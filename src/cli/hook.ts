// quirectl hook install|uninstall|run: runs on commit and push (README.md, "In your daily flow").
import { realpathSync } from "node:fs";
import { relative, resolve } from "node:path";
import { resolvePlaces } from "../core/places.js";
import { loadSettings } from "./config.js";
import { ArgumentError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { HOOK_NAMES, hookPlaces, installedHooks, installHook, uninstallHook, type HookName } from "./hook-files.js";
import { printJson, println } from "./output.js";

export interface HookInstallArgs extends GlobalArgs {
  postCommit?: boolean;
  prePush?: boolean;
  wait?: boolean;
  file?: string;
}

export async function hookInstall(args: HookInstallArgs): Promise<number> {
  const settings = loadSettings(args);
  const chosen = args.postCommit !== undefined || args.prePush !== undefined;
  const names = HOOK_NAMES.filter((name) =>
    chosen ? (name === "post-commit" ? args.postCommit : args.prePush) : settings[`hooks.${name}`],
  );
  const wait = args.wait ?? settings["hooks.wait"];
  if (args.wait && !names.includes("pre-push"))
    throw new ArgumentError(
      "--wait is for the pre-push hook (a commit is made before its hook runs): quirectl hook install --pre-push --wait",
    );
  if (names.length === 0)
    throw new ArgumentError(
      "no hook to install: give --post-commit and/or --pre-push (or set hooks.post-commit / hooks.pre-push with quirectl config set)",
    );
  const places = hookPlaces(process.cwd());
  const home = args.home ?? process.env.QUIRE_HOME;
  let file: string | undefined;
  if (args.file !== undefined) {
    file = relative(places.root, resolve(args.file));
    if (file.startsWith("..")) throw new ArgumentError(`${args.file} is not inside the repository at ${places.root}`);
  }
  const command = {
    // This very quirectl, by absolute paths: git runs hooks from editors and GUIs whose PATH may lack node.
    quirectl: [process.execPath, realpathSync(process.argv[1]!), ...(home ? ["--home", resolve(home)] : [])],
    log: `${resolvePlaces({ home }).dataDir}/hooks.log`,
    file,
    wait,
  };
  const done = names.map((name) => installHook(places, name, command));
  if (args.json) printJson({ hooks_dir: places.hooksDir, installed: names, wait: names.includes("pre-push") && wait, log: command.log });
  else {
    for (const line of done) println(line);
    println(
      `runs go on in the background${names.includes("pre-push") && wait ? " (the pre-push hook waits, and refuses a push whose run fails)" : ""}; what the hooks did is in ${command.log}`,
    );
  }
  return ExitCode.Ok;
}

export async function hookUninstall(args: GlobalArgs & { postCommit?: boolean; prePush?: boolean }): Promise<number> {
  const places = hookPlaces(process.cwd());
  const chosen = args.postCommit !== undefined || args.prePush !== undefined;
  const names: HookName[] = chosen
    ? HOOK_NAMES.filter((name) => (name === "post-commit" ? args.postCommit : args.prePush))
    : installedHooks(places);
  const removed = names.flatMap((name) => {
    const said = uninstallHook(places, name);
    return said ? [{ name, said }] : [];
  });
  if (args.json) printJson({ hooks_dir: places.hooksDir, removed: removed.map((r) => r.name) });
  else println(removed.length > 0 ? removed.map((r) => r.said).join("\n") : `no quire hook in ${places.hooksDir}`);
  return ExitCode.Ok;
}
