// A watched snapshot of a few changes stages them in an index of their own and rebuilds the trees above
// them (edited-tree.ts), leaving the kept index as it was: the tree must be the one the full stat gives,
// whatever the changes. Rounds of seeded random changes of every kind (contents, files and directories
// made and removed, type swaps, modes, links, ignored files, line-ending rules, a nested repository)
// compare the two after each round; and the kept index is written only once the changes pile up.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { git, tempRepos, writeFiles } from "../../helpers/git.js";
import { watchedSnapshots } from "../../helpers/watched-snapshots.js";

const repos = tempRepos();
const { stores, watchers, watchedSnapshot, watchedTree, fullTree } = watchedSnapshots(repos);

// git trusts the fsmonitor's word only in an index of 1,000 entries or more: the kept index is that big.
function files(count: number): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`d${i % 4}/e${i % 3}/f${i}.txt`, `file ${i}\n`]));
}

// A small deterministic generator (mulberry32), so that a failing round is the same round again.
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// The kept index of `repo`'s working copy (named after the person's index) and its time: whether it was written.
function keptIndex(repo: string): string {
  const name = createHash("sha256")
    .update(join(repo, ".git", "index"))
    .digest("hex")
    .slice(0, 16);
  for (const store of readdirSync(stores.root)) {
    const index = join(stores.root, store, "quire-index", name, "index");
    if (existsSync(index)) return `${index} ${statSync(index, { bigint: true }).mtimeNs}`;
  }
  throw new Error(`no kept index for ${repo}`);
}

test("rounds of random changes of every kind: each watched snapshot is the full stat's tree", async () => {
  const repo = repos.make({
    ...files(1200),
    ".gitignore": "*.log\nbuild/\n",
    ".gitattributes": "*.crlf text eol=crlf\n*.auto text=auto\n",
    "mixed.auto": "committed\r\nwith CRs\r\n",
    "tool.sh": "echo hi\n",
  });
  const by = watchers();
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
  const next = random(18);
  const pick = <T>(items: readonly T[]): T => {
    if (items.length === 0) throw new Error("nothing to pick"); // the change is skipped
    return items[Math.floor(next() * items.length)]!;
  };
  const existing = (kind: "file" | "dir") =>
    (readdirSync(repo, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
      .filter((e) => !`${e.parentPath}/`.includes("/.git/") && e.name !== ".git")
      .filter((e) => (kind === "file" ? e.isFile() : e.isDirectory()))
      .map((e) => join(e.parentPath, e.name));
  let made = 0;
  const changes: [string, () => void][] = [
    ["edit a file", () => writeFileSync(pick(existing("file")), `edited ${made++}\n`)],
    ["same size", () => writeFileSync(pick(existing("file")), "same-size\n")],
    ["a new file", () => writeFiles(pick(existing("dir")), { [`new${made++}.txt`]: "new\n" })],
    ["a new deep directory", () => writeFiles(pick(existing("dir")), { [`n${made++}/deeper/x.txt`]: "x\n" })],
    ["remove a file", () => rmSync(pick(existing("file")))],
    ["remove a directory", () => rmSync(pick(existing("dir")), { recursive: true })],
    [
      "a file becomes a directory",
      () => {
        const file = pick(existing("file"));
        rmSync(file);
        writeFiles(file, { "inside.txt": "was a file\n" });
      },
    ],
    [
      "a directory becomes a file",
      () => {
        const dir = pick(existing("dir"));
        rmSync(dir, { recursive: true });
        writeFileSync(dir, "was a directory\n");
      },
    ],
    // Sorted as git sorts a tree: a directory as if its name ended with "/", so "d.txt" and "d-x" before "d".
    [
      "files named like the directory beside them",
      () => {
        const dir = pick(existing("dir"));
        writeFileSync(`${dir}.txt`, "beside\n");
        writeFileSync(`${dir}-x`, "beside\n");
      },
    ],
    ["executable", () => chmodSync(pick(existing("file")), 0o755)],
    ["not executable", () => chmodSync(pick(existing("file")), 0o644)],
    ["a link", () => symlinkSync("../tool.sh", join(pick(existing("dir")), `link${made++}`))],
    ["ignored files", () => writeFiles(pick(existing("dir")), { [`x${made++}.log`]: "log\n", "build/out.js": "out\n" })],
    ["line endings to convert", () => writeFiles(pick(existing("dir")), { [`w${made++}.crlf`]: "one\ntwo\n" })],
    ["CRs where the index has CRs", () => writeFileSync(join(repo, "mixed.auto"), `still\r\nCRs ${made++}\r\n`)],
    ["CRs in a new text=auto file", () => writeFiles(pick(existing("dir")), { [`a${made++}.auto`]: "new\r\nCRs\r\n" })],
  ];
  for (let round = 0; round < 60; round++) {
    const done: string[] = [];
    for (let n = 1 + Math.floor(next() * 3); n > 0; n--) {
      const [what, change] = pick(changes);
      try {
        change();
        done.push(what);
      } catch {
        // Not possible on this tree (a file where a directory would go, say): another change then.
      }
    }
    if (round === 30) {
      git(repo, "init", "-q", "nested");
      writeFiles(join(repo, "nested"), { "inner.txt": "inner\n" });
      git(join(repo, "nested"), "add", "-A");
      git(join(repo, "nested"), "commit", "-q", "-m", "nested");
      done.push("a nested repository");
    }
    assert.equal(await watchedTree(repo, by), await fullTree(repo), `round ${round}: ${done.join(", ")}`);
  }
});

test("a few changes leave the kept index as it was; once they pile up it is written, and the trees stay the full stat's", async () => {
  const repo = repos.make(files(1200));
  const by = watchers();
  await watchedTree(repo, by);
  const written = keptIndex(repo);
  for (let i = 0; i < 5; i++) {
    writeFileSync(join(repo, `d${i % 4}/e0/f${i * 12}.txt`), `changed ${i}\n`);
    assert.equal(await watchedTree(repo, by), await fullTree(repo), `change ${i}`);
  }
  assert.equal(keptIndex(repo), written, "the kept index was not written for five changes");
  // More than 32 changed paths since it was written: staged in the kept index, which then holds them.
  for (let i = 0; i < 40; i++) writeFileSync(join(repo, `d${i % 4}/e1/f${i * 12 + 4}.txt`), `changed ${i}\n`);
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
  assert.notEqual(keptIndex(repo), written);
  const after = keptIndex(repo);
  writeFileSync(join(repo, "d0/e0/f0.txt"), "once more\n");
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
  assert.equal(keptIndex(repo), after, "few changes since: left as it was again");
});

test("what staging beside the kept index cannot do is staged in it: flagged entries, an empty tree, odd names, big files", async () => {
  const repo = repos.make({ ...files(1200), "keep/assumed.txt": "as committed\n" });
  git(repo, "update-index", "--assume-unchanged", "keep/assumed.txt");
  const by = watchers();
  await watchedTree(repo, by);
  // The person told git to assume it unchanged: the full stat keeps the committed blob, and so must this.
  writeFileSync(join(repo, "keep/assumed.txt"), "changed anyway\n");
  writeFileSync(join(repo, "d0/e0/f0.txt"), "changed\n");
  const watched = await watchedSnapshot(repo, by);
  assert.equal(watched.tree, await fullTree(repo));
  assert.equal(git(watched.store, "--git-dir=.", "cat-file", "-p", `${watched.tree}:keep/assumed.txt`), "as committed");

  const plain = repos.make(files(1200));
  const watching = watchers();
  await watchedTree(plain, watching);
  writeFiles(plain, { "line\nbreak.txt": "a name with a newline\n" });
  assert.equal(await watchedTree(plain, watching), await fullTree(plain), "a newline in a name");
  writeFileSync(join(plain, "big.bin"), Buffer.alloc(9 * 1024 * 1024, 1));
  assert.equal(await watchedTree(plain, watching), await fullTree(plain), "a big file");
  for (const name of readdirSync(plain)) if (name !== ".git") rmSync(join(plain, name), { recursive: true });
  assert.equal(await watchedTree(plain, watching), await fullTree(plain), "nothing left");
  mkdirSync(join(plain, "again"));
  writeFiles(plain, { "again/one.txt": "one\n" });
  assert.equal(await watchedTree(plain, watching), await fullTree(plain), "one file again");
});

test("names that are not UTF-8 beside or among the changed paths keep their own bytes", async () => {
  const repo = repos.make(files(1200));
  // A file name is bytes: Latin-1 names, as an archive made elsewhere leaves them.
  const raw = (name: string) => Buffer.from(`${repo}/${name}`, "latin1");
  writeFileSync(raw("d0/caf\xe9.txt"), "committed\n");
  git(repo, "add", "-A");
  git(repo, "commit", "-q", "-m", "a Latin-1 name");
  const by = watchers();
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
  writeFileSync(join(repo, "d0/e0/f0.txt"), "changed\n");
  assert.equal(await watchedTree(repo, by), await fullTree(repo), "a file changed in a directory below the name");
  writeFileSync(join(repo, "d0/new.txt"), "new\n");
  assert.equal(await watchedTree(repo, by), await fullTree(repo), "a file made beside it");
  writeFileSync(raw("d1/n\xe9w.txt"), "new\n");
  assert.equal(await watchedTree(repo, by), await fullTree(repo), "a file with such a name made");
});

test("a path the kept index no longer holds as the person's index does is staged as from the person's index", async () => {
  const repo = repos.make({ ...files(1200), "dos.txt": "committed\r\nwith CRs\r\n", "tool.sh": "echo tool\n" });
  git(repo, "update-index", "--chmod=+x", "tool.sh");
  git(repo, "commit", "-q", "-m", "executable");
  // Staged over the person's index, a file whose blob there has CRs keeps them (git's safer autocrlf), and
  // a file's mode is the entry's, whatever the disk says (filemode=false): both rest on the entry there.
  git(repo, "config", "core.autocrlf", "true");
  git(repo, "config", "core.filemode", "false");
  const by = watchers();
  assert.equal(await watchedTree(repo, by), await fullTree(repo));
  const pileUp = (round: number, count: number) => {
    for (let i = 0; i < count; i++) writeFileSync(join(repo, `d${i % 4}/e2/r${i}.txt`), `round ${round} ${i}\n`);
  };
  // Made again alone (staged beside the kept index), with 40 others (in it, its paths made the person's
  // entries again first), with 300 (in it, too many paths to name: from a fresh copy of the person's).
  for (const [round, others] of [0, 40, 300].entries()) {
    // Gone, with enough else that the kept index is written without them.
    rmSync(join(repo, "dos.txt"));
    rmSync(join(repo, "tool.sh"));
    pileUp(round * 2, 40);
    assert.equal(await watchedTree(repo, by), await fullTree(repo), `round ${round}: gone`);
    writeFileSync(join(repo, "dos.txt"), "made again\r\nwith CRs\r\n");
    writeFileSync(join(repo, "tool.sh"), "echo tool again\n", { mode: 0o644 });
    pileUp(round * 2 + 1, others);
    assert.equal(await watchedTree(repo, by), await fullTree(repo), `round ${round}: made again with ${others} others`);
  }
});
