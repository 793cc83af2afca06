// quire's configuration file, read with every value's position (as pipeline files are) so that a bad
// file is refused at file:line:column, never ignored; and written back one setting at a time, keeping
// the person's comments and layout.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isAlias, isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from "yaml";
import { SettingsError } from "../errors.js";
import { closest } from "../pipeline/suggest.js";
import {
  allowedValues,
  defaultSettings,
  formatSetting,
  isSettingName,
  refusedValue,
  SETTING_NAMES,
  SETTINGS,
  settingValue,
  type SettingName,
  type Settings,
  type SettingValue,
} from "./schema.js";

/** A configuration file is small; anything larger is not one. */
const MAX_BYTES = 64 * 1024;

const SECTIONS = [...new Set(SETTING_NAMES.map((name) => name.split(".")[0]!))];

export interface ReadSettings {
  settings: Settings;
  /** The settings the file gives (the others are defaults). */
  given: Set<SettingName>;
}

/** The settings in `file`; every default when it does not exist. A bad file throws a SettingsError. */
export function readSettings(file: string): ReadSettings {
  const text = readText(file);
  return text === undefined ? { settings: defaultSettings(), given: new Set() } : parseSettings(text, file);
}

export function parseSettings(text: string, file: string): ReadSettings {
  const { doc, lines } = parse(text, file);
  const settings = defaultSettings();
  const given = new Set<SettingName>();
  const fail = (node: Node | null | undefined, setting: string | undefined, problem: string, allowed: string): never => {
    const { line, col } = lines.linePos(node?.range?.[0] ?? 0);
    throw new SettingsError(file, line, col, setting, problem, allowed);
  };
  const root = doc.contents;
  if (root === null || (isScalar(root) && root.value === null)) return { settings, given };
  if (!isMap(root))
    return fail(
      root,
      undefined,
      "the file is not a mapping of sections",
      `write sections such as \`bell:\` with settings under them (${SECTIONS.join(", ")})`,
    );
  for (const pair of root.items) {
    const key = pair.key as Node | null;
    const section = isScalar(key) && typeof key.value === "string" ? key.value : undefined;
    if (section === undefined || !SECTIONS.includes(section)) {
      const guess = section && closest(section, SECTIONS);
      return fail(
        key,
        section,
        guess ? `unknown section (did you mean \`${guess}\`?)` : "unknown section",
        `sections: ${SECTIONS.join(", ")}`,
      );
    }
    const names = SETTING_NAMES.filter((name) => name.startsWith(`${section}.`)).map((name) => name.slice(section.length + 1));
    const body = pair.value as Node | null;
    if (body === null || (isScalar(body) && body.value === null)) continue;
    if (isAlias(body)) return fail(body, section, "an alias here", "write the settings out");
    if (!isMap(body)) return fail(body, section, "is not a mapping of settings", `under ${section}: ${names.join(", ")}`);
    for (const item of body.items) {
      const itemKey = item.key as Node | null;
      const short = isScalar(itemKey) && typeof itemKey.value === "string" ? itemKey.value : undefined;
      const name = `${section}.${short}`;
      if (short === undefined || !isSettingName(name)) {
        const guess = short && closest(short, names);
        return fail(
          itemKey,
          short && name,
          guess ? `unknown setting (did you mean \`${section}.${guess}\`?)` : "unknown setting",
          `settings under ${section}: ${names.join(", ")}`,
        );
      }
      const valueNode = item.value as Node | null;
      if (!isScalar(valueNode)) return fail(valueNode ?? itemKey, name, "needs one value", allowedValues(name));
      const value = settingValue(name, valueNode.value);
      if (value === undefined)
        return fail(
          valueNode,
          name,
          `${refusedValue(name, valueNode.source ?? valueNode.value)} is not a value it takes`,
          allowedValues(name),
        );
      (settings as Record<SettingName, SettingValue>)[name] = value;
      given.add(name);
    }
  }
  return { settings, given };
}

/**
 * Sets `name` to `value` in `file` (undefined: removes it, so the default applies), keeping the rest of
 * the file as it is; creates the file and its directory when needed. Written aside and renamed into
 * place, so a reader never sees half a file. A file that is bad already is refused, not overwritten.
 */
export function writeSetting(file: string, name: SettingName, value: SettingValue | undefined): void {
  const text = readText(file) ?? "";
  parseSettings(text, file);
  const { doc } = parse(text, file);
  const [section, key] = [name.slice(0, name.indexOf(".")), name.slice(name.indexOf(".") + 1)];
  if (value === undefined || value === null) {
    doc.deleteIn([section, key]);
    const rest = doc.getIn([section]);
    if (isMap(rest) && rest.items.length === 0) doc.deleteIn([section]);
  } else {
    doc.setIn([section, key], SETTINGS[name].kind === "duration" ? formatSetting(name, value) : value);
  }
  const out = isMap(doc.contents) && doc.contents.items.length === 0 && !doc.commentBefore && !doc.comment ? "" : String(doc);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const temp = join(dirname(file), `.config.yml.${process.pid}.${Date.now()}`);
  writeFileSync(temp, out);
  renameSync(temp, file);
}

function parse(text: string, file: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const error = doc.errors[0];
  if (error) {
    const { line, col } = lines.linePos(error.pos[0]);
    throw new SettingsError(file, line, col, undefined, `invalid YAML: ${error.message}`, "fix the syntax there");
  }
  return { doc, lines };
}

/** The file's text, or undefined when there is no file. */
function readText(file: string): string | undefined {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SettingsError(
      file,
      null,
      null,
      undefined,
      `cannot be read: ${(error as Error).message}`,
      "check its permissions, or remove it to use the defaults",
      { cause: error },
    );
  }
  if (text.length > MAX_BYTES)
    throw new SettingsError(file, null, null, undefined, `is ${text.length} bytes`, `a configuration file is at most ${MAX_BYTES} bytes`);
  return text.toString("utf8");
}
