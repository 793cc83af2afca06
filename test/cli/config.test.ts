// quirectl config get|set|unset|list on a real file in QUIRE_HOME, and a bad file refused by the commands
// that read it (exit 2, naming file:line:column), never ignored.
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { tempHome } from "../helpers/daemon.js";
import { quirectl, quirectlJson } from "../helpers/quirectl.js";

const home = tempHome();
after(() => rmSync(home, { recursive: true, force: true }));

test("set, get, list and unset: the file holds what was set, list says where each value comes from", async () => {
  assert.equal((await quirectl(home, ["config", "get", "bell.after"])).stdout, "5s\n");
  const set = await quirectl(home, ["config", "set", "bell.after", "90s"]);
  assert.equal(set.code, 0, set.stderr);
  assert.equal(readFileSync(join(home, "config.yml"), "utf8"), "bell:\n  after: 90s\n");
  assert.equal((await quirectl(home, ["config", "get", "bell.after"])).stdout, "90s\n");
  assert.equal(await quirectlJson(home, ["config", "get", "bell.after"]), 90_000);
  const list = await quirectlJson(home, ["config", "list"]);
  assert.equal(list.file, join(home, "config.yml"));
  assert.deepEqual(list.settings["bell.after"], { value: 90_000, from: "file" });
  assert.deepEqual(list.settings["notify.hook"], { value: true, from: "default" });
  const restart = await quirectl(home, ["config", "set", "runs.concurrency", "2"]);
  assert.match(restart.stdout, /quirectl daemon restart applies it now/);
  await quirectl(home, ["config", "unset", "bell.after"]);
  await quirectl(home, ["config", "unset", "runs.concurrency"]);
  assert.equal(readFileSync(join(home, "config.yml"), "utf8"), "");
});

test("an unknown setting or a bad value is a usage error saying what is allowed", async () => {
  const unknown = await quirectl(home, ["config", "set", "notify.hokk", "true"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /no setting "notify.hokk" \(did you mean notify.hook\?\)/);
  const bad = await quirectl(home, ["config", "set", "notify.hook", "sometimes"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /notify.hook takes true or false; got "sometimes"/);
  const token = await quirectl(home, ["config", "set", "cache.remote-token", "s3cr3t-t0ken"]);
  assert.equal(token.code, 2);
  assert.match(token.stderr, /cache.remote-token takes the name of a quire secret/);
  assert.ok(!token.stderr.includes("s3cr3t-t0ken"), "a value refused where a secret's name goes is not repeated");
});

test("a bad file is refused where it is wrong by every command that reads it, and is not overwritten", async () => {
  writeFileSync(join(home, "config.yml"), "notify:\n  hook: true\nbell:\n  afterr: 3s\n");
  writeFileSync(join(home, "quire.yml"), "jobs:\n  a:\n    steps:\n      - echo ok\n");
  for (const args of [
    ["config", "list"],
    ["config", "get", "bell.after"],
    ["config", "set", "bell.after", "1s"],
    ["run", "--wait"],
    ["hook", "install"],
  ]) {
    const r = await quirectl(home, args, { cwd: home });
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(
      r.stderr,
      new RegExp(
        `${join(home, "config.yml").replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:4:3: bell.afterr: unknown setting \\(did you mean \`bell.after\`\\?\\)`,
      ),
      args.join(" "),
    );
  }
  assert.equal(readFileSync(join(home, "config.yml"), "utf8"), "notify:\n  hook: true\nbell:\n  afterr: 3s\n");
});
