// The ci service's side of a submit that can be sent again: an idempotency key names one run, ever, and a
// submit's deadline (its frame's deadline_unix_ms) is the last moment its run may be recorded. Spoken by
// hand over the wire against a real daemon whose git waits, when a test holds it, in the middle of a
// submit's snapshot.
import assert from "node:assert/strict";
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import Database from "better-sqlite3";
import { CiRequest, CiResponse, type CiSubmit } from "../../../../src/gen/quire/v1/ci.js";
import { encodeFramed, Frame_Kind, Lane, newFrame } from "../../../../src/wire/index.js";
import { startTestDaemon, type TestDaemon } from "../../../helpers/daemon.js";
import { eventually } from "../../../helpers/eventually.js";
import { tempRepos } from "../../../helpers/git.js";
import { helloFrame, RawPeer } from "../../../helpers/raw-peer.js";

const ANSWER_MS = 30_000;

const repos = tempRepos();
/** While `held` exists, every git the daemon runs says so in `waiting` and waits for `held` to go. */
let held: string;
let waiting: string;
let daemon: TestDaemon;
let repo: string;
let db: Database.Database;
const peers: RawPeer[] = [];

before(async () => {
  const bin = repos.dir("bin");
  held = join(bin, "held");
  waiting = join(bin, "waiting");
  const git = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
  const wait = `if [ -e '${held}' ]; then : > '${waiting}'; while [ -e '${held}' ]; do sleep 0.01; done; fi`;
  writeFileSync(
    join(bin, "git"),
    `#!/bin/sh
${wait}
exec '${git}' "$@"
`,
  );
  chmodSync(join(bin, "git"), 0o755);
  daemon = await startTestDaemon([], undefined, { PATH: `${bin}:${process.env.PATH}` });
  const pipeline = (name: string) => `name: ${name}\njobs:\n  only:\n    steps:\n      - run: "true"\n`;
  repo = repos.make({ "quire.yml": pipeline("keyed"), "closed.yml": pipeline("closed") });
});
after(async () => {
  release();
  for (const peer of peers) peer.close();
  db?.close();
  await daemon.stop();
});

/** From now until release(), the daemon's git waits before it runs. */
function holdGit(): void {
  rmSync(waiting, { force: true });
  writeFileSync(held, "");
}

/** Resolves once a git is waiting: a submit is in the middle of its snapshot. */
function gitWaiting(): Promise<boolean> {
  return eventually(() => existsSync(waiting), "the submit's git to wait", ANSWER_MS);
}

function release(): void {
  rmSync(held, { force: true });
}

/** The daemon's quire.db as it is now, read beside the backend. */
function store(): Database.Database {
  return (db ??= new Database(daemon.places.database, { readonly: true }));
}

/** The runs recorded with `key`. */
function runsWithKey(key: string): number[] {
  return store().prepare(`SELECT id FROM runs WHERE idempotency_key = ? ORDER BY id`).pluck().all(key) as number[];
}

/** The runs of pipeline `name`, with or without a key. */
function runsOf(name: string): number[] {
  return store().prepare(`SELECT id FROM runs WHERE pipeline = ? ORDER BY id`).pluck().all(name) as number[];
}

/** A connection to the ci backend, spoken by hand: the broker's Hello (no handoff), then the backend's socket with its token. */
async function ciPeer(): Promise<RawPeer> {
  const broker = await RawPeer.connect(daemon.places.socket);
  broker.write(helloFrame({ serviceName: "ci" }));
  const negotiated = (await broker.nextReply(ANSWER_MS))!.negotiated!;
  broker.close();
  const peer = await RawPeer.connect(negotiated.backendPipe);
  peers.push(peer);
  peer.write(helloFrame({ serviceName: "ci", authToken: negotiated.handlePassedToken }));
  assert.ok((await peer.nextReply(ANSWER_MS))?.negotiated, "the backend took the token");
  return peer;
}

function submitFrame(requestId: bigint, submit: Partial<CiSubmit>, deadlineUnixMs = 0n, name = "quire.yml"): Buffer {
  const file = join(repo, name);
  const payload = Buffer.from(
    CiRequest.encode(CiRequest.fromPartial({ submit: { file, text: readFileSync(file, "utf8"), ...submit } })).finish(),
  );
  return encodeFramed(newFrame({ kind: Frame_Kind.REQUEST, payloadProtocol: Lane.CI, requestId, deadlineUnixMs, payload }));
}

async function answer(peer: RawPeer): Promise<CiResponse> {
  const frame = await peer.next(ANSWER_MS);
  assert.ok(frame, "answered before the connection closed");
  assert.equal(frame.kind, Frame_Kind.RESPONSE);
  return CiResponse.decode(frame.payload);
}

test("a submit whose connection closed before its answer, sent again with its key, is answered with the run it recorded", async () => {
  const key = "closed-before-the-answer";
  const first = await ciPeer();
  first.write(submitFrame(2n, { idempotencyKey: key }, 0n, "closed.yml"));
  first.socket.end(); // the service reads the submit, and its answer finds nobody
  await first.closed;
  const [recorded] = await eventually(() => runsOf("closed").length > 0 && runsOf("closed"), "the first submit to be recorded", ANSWER_MS);

  const again = await ciPeer();
  again.write(submitFrame(2n, { idempotencyKey: key }, 0n, "closed.yml"));
  const response = await answer(again);
  assert.ok(response.ok, response.error);
  assert.equal(response.run!.id, BigInt(recorded), "answered with the run recorded first");
  assert.deepEqual(runsOf("closed"), [recorded], "and no second run");
  assert.deepEqual(runsWithKey(key), [recorded]);
});

test("a submit whose deadline passes while its tree is snapshotted is answered QUIRE_ERR_CI_NOT_RECORDED, and never recorded", async () => {
  const key = "deadline-passed-while-staging";
  const peer = await ciPeer();
  holdGit();
  const deadline = Date.now() + 3_000;
  peer.write(submitFrame(2n, { idempotencyKey: key }, BigInt(deadline)));
  await gitWaiting(); // it arrived before its deadline, and is snapshotting its tree
  await eventually(() => Date.now() > deadline, "the submit's deadline to pass", ANSWER_MS);
  release();
  const response = await answer(peer);
  assert.equal(response.ok, false);
  assert.equal(response.errorCode, "QUIRE_ERR_CI_NOT_RECORDED", response.error);
  assert.match(response.error, /not recorded/);
  // The answer comes once the recording has given up, so nothing can be recorded after it.
  assert.deepEqual(runsWithKey(key), []);
});

test("a submit that arrives after its deadline is answered QUIRE_ERR_CI_NOT_RECORDED at once", async () => {
  const peer = await ciPeer();
  peer.write(submitFrame(2n, { idempotencyKey: "arrived-late" }, BigInt(Date.now() - 1)));
  const response = await answer(peer);
  assert.equal(response.errorCode, "QUIRE_ERR_CI_NOT_RECORDED", response.error);
  assert.deepEqual(runsWithKey("arrived-late"), []);
});

test("two submits with one key while the first is still being recorded: both are answered with one run", async () => {
  const key = "twice-at-once";
  const first = await ciPeer();
  const second = await ciPeer();
  holdGit();
  first.write(submitFrame(2n, { idempotencyKey: key }));
  await gitWaiting(); // the first is snapshotting its tree
  second.write(submitFrame(2n, { idempotencyKey: key }));
  release();
  const [a, b] = await Promise.all([answer(first), answer(second)]);
  assert.ok(a.ok && b.ok, `${a.error} ${b.error}`);
  assert.equal(a.run!.id, b.run!.id);
  assert.deepEqual(runsWithKey(key), [Number(a.run!.id)]);
});

test("an idempotency key of more than 128 characters is refused, and nothing is recorded", async () => {
  const peer = await ciPeer();
  peer.write(submitFrame(2n, { idempotencyKey: "k".repeat(129) }));
  const response = await answer(peer);
  assert.equal(response.errorCode, "QUIRE_ERR_CI_IDEMPOTENCY_KEY", response.error);
  assert.deepEqual(runsWithKey("k".repeat(129)), []);
});
