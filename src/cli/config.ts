// quirectl config get|set|unset|list: quire's configuration file (README.md, "In your daily flow"), and
// the settings every other command reads from it (a bad file is a usage error naming where it is wrong).
import { SettingsError } from "../ci/errors.js";
import {
  allowedValues,
  formatSetting,
  isSettingName,
  refusedValue,
  SETTING_NAMES,
  SETTINGS,
  settingValue,
  type SettingName,
  type Settings,
} from "../ci/settings/schema.js";
import { readSettings, writeSetting } from "../ci/settings/settings-file.js";
import { closest } from "../ci/pipeline/suggest.js";
import { resolvePlaces } from "../core/places.js";
import { ArgumentError, ConfigUsageError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { printJson, println, table } from "./output.js";

/** The configuration file this command reads: QUIRE_HOME's with a home, else the XDG one. */
export function configFile(args: Pick<GlobalArgs, "home">): string {
  return resolvePlaces({ home: args.home }).configFile;
}

/** The settings as the file gives them (defaults elsewhere); a bad file is a ConfigUsageError (exit 2). */
export function loadSettings(args: Pick<GlobalArgs, "home">): Settings {
  return read(configFile(args)).settings;
}

function read(file: string) {
  try {
    return readSettings(file);
  } catch (error) {
    if (error instanceof SettingsError) throw new ConfigUsageError(error.message, error);
    throw error;
  }
}

function settingName(name: string): SettingName {
  if (isSettingName(name)) return name;
  const guess = closest(name, SETTING_NAMES);
  throw new ArgumentError(
    `no setting ${JSON.stringify(name)}${guess ? ` (did you mean ${guess}?)` : ""}; quirectl config list shows them all`,
  );
}

export async function configGet(args: GlobalArgs & { name: string }): Promise<number> {
  const name = settingName(args.name);
  const value = loadSettings(args)[name];
  if (args.json) printJson(value);
  else println(formatSetting(name, value));
  return ExitCode.Ok;
}

export async function configSet(args: GlobalArgs & { name: string; value: string }): Promise<number> {
  const name = settingName(args.name);
  const value = settingValue(name, args.value);
  if (value === undefined) throw new ArgumentError(`${name} takes ${allowedValues(name)}; got ${refusedValue(name, args.value)}`);
  const file = configFile(args);
  write(file, name, value);
  if (args.json) printJson({ name, value, file });
  else println(`${name} = ${formatSetting(name, value)} (in ${file})${restartNote(name)}`);
  return ExitCode.Ok;
}

export async function configUnset(args: GlobalArgs & { name: string }): Promise<number> {
  const name = settingName(args.name);
  const file = configFile(args);
  write(file, name, undefined);
  const value = SETTINGS[name].default;
  if (args.json) printJson({ name, value, file });
  else println(`${name} = ${formatSetting(name, value)} (the default)${restartNote(name)}`);
  return ExitCode.Ok;
}

export async function configList(args: GlobalArgs): Promise<number> {
  const file = configFile(args);
  const { settings, given } = read(file);
  if (args.json) {
    printJson({
      file,
      settings: Object.fromEntries(
        SETTING_NAMES.map((name) => [name, { value: settings[name], from: given.has(name) ? "file" : "default" }]),
      ),
    });
    return ExitCode.Ok;
  }
  println(`# ${file}`);
  println(
    table([
      ["SETTING", "VALUE", "FROM", "WHAT IT DOES"],
      ...SETTING_NAMES.map((name) => [
        name,
        formatSetting(name, settings[name]),
        given.has(name) ? "file" : "default",
        SETTINGS[name].describe,
      ]),
    ]),
  );
  return ExitCode.Ok;
}

function write(file: string, name: SettingName, value: ReturnType<typeof settingValue>): void {
  try {
    writeSetting(file, name, value);
  } catch (error) {
    if (error instanceof SettingsError) throw new ConfigUsageError(`${error.message}\n(nothing was changed: fix the file first)`, error);
    throw error;
  }
}

function restartNote(name: SettingName): string {
  return name.startsWith("runs.") || name.startsWith("cache.")
    ? "\nthe ci backend reads it when it starts: quirectl daemon restart applies it now"
    : "";
}
