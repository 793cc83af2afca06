// parsePlain() decides the plain commands without yargs: for every command of the table and every form
// of the global flags it takes, it must hand the handler what yargs, given the same table, hands it.
import assert from "node:assert/strict";
import { test } from "node:test";
import yargs from "yargs";
import { globalOptions, PLAIN_COMMANDS, parsePlain } from "../../src/cli/plain-commands.js";

/** What yargs hands the handler of argv[0] when the table's commands and options are all it knows. */
async function yargsParse(argv: string[]): Promise<Record<string, unknown>> {
  let got: Record<string, unknown> | undefined;
  let parser = yargs(argv).options(globalOptions()).strict().exitProcess(false);
  for (const command of PLAIN_COMMANDS) {
    parser = parser.command(command.name, command.describe, {}, (args) => {
      got = args;
    });
  }
  await parser.parseAsync();
  assert.ok(got, `yargs ran no handler for ${argv.join(" ")}`);
  const { $0: _script, ...rest } = got;
  return rest;
}

/** Every order of every subset of the flag forms, at most one form of each flag. */
function flagForms(): string[][] {
  const forms = [["--json"], ["--allow-root"], ["--home", "/tmp/quire home"], ["--home=rel/dir"], ["--home="]];
  const out: string[][] = [[]];
  const grow = (used: string[][], rest: string[][]) => {
    for (const form of rest) {
      const flag = form[0]!.split("=")[0]!;
      if (used.some((u) => u[0]!.split("=")[0] === flag)) continue;
      const next = [...used, form];
      out.push(next.flat());
      grow(
        next,
        rest.filter((r) => r !== form),
      );
    }
  };
  grow([], forms);
  return out;
}

for (const allowRootEnv of [undefined, "1"]) {
  test(`every plain command with every flag form parses as yargs parses it (QUIRE_ALLOW_ROOT=${allowRootEnv})`, async () => {
    const saved = process.env.QUIRE_ALLOW_ROOT;
    if (allowRootEnv === undefined) delete process.env.QUIRE_ALLOW_ROOT;
    else process.env.QUIRE_ALLOW_ROOT = allowRootEnv;
    try {
      let checked = 0;
      for (const command of PLAIN_COMMANDS) {
        for (const flags of flagForms()) {
          const argv = [command.name, ...flags];
          const plain = parsePlain(argv);
          assert.ok(plain, `parsePlain left ${argv.join(" ")} to yargs`);
          assert.equal(plain.command, command);
          const { allowRoot, "allow-root": allowRootDashed, ...rest } = await yargsParse(argv);
          assert.deepEqual({ ...plain.args }, { ...rest, allowRoot, "allow-root": allowRootDashed }, argv.join(" "));
          checked++;
        }
      }
      assert.ok(checked > PLAIN_COMMANDS.length);
    } finally {
      if (saved === undefined) delete process.env.QUIRE_ALLOW_ROOT;
      else process.env.QUIRE_ALLOW_ROOT = saved;
    }
  });
}

test("forms it is not sure of are left to yargs", () => {
  for (const argv of [
    [],
    ["status", "--help"],
    ["status", "--json", "--json"],
    ["status", "--no-json"],
    ["status", "--json=false"],
    ["status", "--home"],
    ["status", "--home", "--json"],
    ["status", "extra"],
    ["status", "--unknown"],
    ["run"],
    ["--json", "status"],
  ]) {
    assert.equal(parsePlain(argv), undefined, argv.join(" "));
  }
});
