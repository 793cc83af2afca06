// A job's result as an artifact of the remote cache: what a machine that did not run the job needs to give
// it the result (its steps with their logs, a workflow job's outputs, the files of its `outputs:` paths),
// packed the same way every time, so that equal results are equal bytes:
//
//   "QUIRE-R1"                 8 bytes: what the artifact is, and its format's version
//   sha256(body)               32 bytes: checked on every download, so a truncated or altered artifact is refused
//   body                       gzip of the result as JSON (keys in a fixed order, files sorted by path)
//
// Turborepo's own artifacts are tar archives of a task's output files, with nothing in them to check them
// by and nothing to carry logs or outputs; quire's result is more than files, so it has a format of its own
// (the server stores any bytes). The signature (`x-artifact-tag`) is Turborepo's: base64 of HMAC-SHA256
// over the hash, the team and the artifact's bytes, so an artifact signed by turbo's key scheme checks alike.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { RemoteArtifactCorruptError, RemoteArtifactSignatureError } from "../errors.js";
import { REMOTE_ARTIFACT_MAX_BYTES } from "../rules.js";

const MAGIC = Buffer.from("QUIRE-R1", "latin1");
const HEAD_BYTES = MAGIC.length + 32;

export interface ArtifactStep {
  name: string;
  command: string;
  /** `failed`: a workflow step with continue-on-error, in a job that completed. */
  state: "complete" | "skipped" | "failed";
  exitCode: number | null;
  startedAt: number | null;
  finishedAt: number;
  /** The step's log as it was written (redacted) on the machine that ran it. */
  log: Buffer;
}

/** A file, directory or symlink of the job's `outputs:` paths, relative to where its steps start. */
export type ArtifactFile =
  | { path: string; kind: "file"; mode: number; data: Buffer }
  | { path: string; kind: "directory"; mode: number }
  | { path: string; kind: "link"; target: string };

export interface ResultArtifact {
  /** The hash the artifact is stored under: the job's inputs without the repository's path. */
  inputs: string;
  job: string;
  startedAt: number;
  finishedAt: number;
  steps: ArtifactStep[];
  outputs: Record<string, string>;
  files: ArtifactFile[];
}

/** The artifact's bytes: the same result gives the same bytes. */
export function packResult(result: ResultArtifact): Buffer {
  const json = {
    inputs: result.inputs,
    job: result.job,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    steps: result.steps.map((s) => ({
      name: s.name,
      command: s.command,
      state: s.state,
      exitCode: s.exitCode,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      log: s.log.toString("base64"),
    })),
    outputs: Object.fromEntries(Object.entries(result.outputs).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    files: [...result.files]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((f) =>
        f.kind === "file"
          ? { path: f.path, kind: f.kind, mode: f.mode, data: f.data.toString("base64") }
          : f.kind === "directory"
            ? { path: f.path, kind: f.kind, mode: f.mode }
            : { path: f.path, kind: f.kind, target: f.target },
      ),
  };
  const body = gzipSync(JSON.stringify(json), { level: 9 });
  return Buffer.concat([MAGIC, createHash("sha256").update(body).digest(), body]);
}

/**
 * The result in `bytes`, downloaded for `hash`; throws RemoteArtifactCorruptError when they are not a
 * whole artifact of that hash (truncated, altered, another format, another job's). With `signed`, its
 * signature is checked once the bytes are known whole and before they are unpacked (RemoteArtifactSignatureError),
 * so what a server without the key sends is never decompressed.
 */
export function unpackResult(hash: string, bytes: Buffer, signed?: { key: string; team: string; tag: string | null }): ResultArtifact {
  const corrupt = (why: string): never => {
    throw new RemoteArtifactCorruptError(hash, why);
  };
  if (bytes.length < HEAD_BYTES || !bytes.subarray(0, MAGIC.length).equals(MAGIC))
    corrupt("it is not a quire job result (format QUIRE-R1)");
  const body = bytes.subarray(HEAD_BYTES);
  if (!createHash("sha256").update(body).digest().equals(bytes.subarray(MAGIC.length, HEAD_BYTES)))
    corrupt("its bytes do not match the hash recorded in it (truncated or altered)");
  if (signed) checkTag(signed.key, hash, signed.team, bytes, signed.tag);
  let json: unknown;
  try {
    json = JSON.parse(gunzipSync(body, { maxOutputLength: 4 * REMOTE_ARTIFACT_MAX_BYTES }).toString("utf8"));
  } catch (error) {
    return corrupt(`it does not unpack (${(error as Error).message})`);
  }
  const result = resultOf(json);
  if (result === undefined) return corrupt("its contents are not a job result");
  if (result.inputs !== hash) return corrupt(`it holds the result of inputs ${result.inputs}`);
  return result;
}

/** Turborepo's `x-artifact-tag`: base64 of HMAC-SHA256, under `key`, of the hash, the team and the artifact. */
export function artifactTag(key: string, hash: string, team: string, bytes: Buffer): string {
  return createHmac("sha256", key).update(hash).update(team).update(bytes).digest("base64");
}

/** Throws RemoteArtifactSignatureError unless `tag` is the artifact's signature under `key`. */
export function checkTag(key: string, hash: string, team: string, bytes: Buffer, tag: string | null): void {
  if (tag === null) throw new RemoteArtifactSignatureError(hash, "it has no signature (x-artifact-tag)");
  const want = Buffer.from(artifactTag(key, hash, team, bytes), "base64");
  const got = Buffer.from(tag, "base64");
  if (got.length !== want.length || !timingSafeEqual(got, want))
    throw new RemoteArtifactSignatureError(hash, "its signature is not the key's");
}

// The JSON read back, checked field by field: anything else is not a result.
function resultOf(json: unknown): ResultArtifact | undefined {
  if (!isObject(json)) return undefined;
  const { inputs, job, startedAt, finishedAt, steps, outputs, files } = json;
  if (typeof inputs !== "string" || typeof job !== "string" || !isTime(startedAt) || !isTime(finishedAt)) return undefined;
  if (!Array.isArray(steps) || !Array.isArray(files) || !isObject(outputs)) return undefined;
  if (!Object.values(outputs).every((v) => typeof v === "string")) return undefined;
  const readSteps = steps.map(stepOf);
  const readFiles = files.map(fileOf);
  if (readSteps.some((s) => s === undefined) || readFiles.some((f) => f === undefined)) return undefined;
  return {
    inputs,
    job,
    startedAt,
    finishedAt,
    steps: readSteps as ArtifactStep[],
    outputs: outputs as Record<string, string>,
    files: readFiles as ArtifactFile[],
  };
}

function stepOf(json: unknown): ArtifactStep | undefined {
  if (!isObject(json)) return undefined;
  const { name, command, state, exitCode, startedAt, finishedAt, log } = json;
  if (typeof name !== "string" || typeof command !== "string" || (state !== "complete" && state !== "skipped" && state !== "failed"))
    return undefined;
  if (!(exitCode === null || Number.isSafeInteger(exitCode)) || !(startedAt === null || isTime(startedAt)) || !isTime(finishedAt))
    return undefined;
  if (typeof log !== "string") return undefined;
  return { name, command, state, exitCode: exitCode as number | null, startedAt, finishedAt, log: Buffer.from(log, "base64") };
}

function fileOf(json: unknown): ArtifactFile | undefined {
  if (!isObject(json) || typeof json.path !== "string") return undefined;
  const { path, kind } = json;
  const mode = Number.isSafeInteger(json.mode) ? (json.mode as number) & 0o777 : undefined;
  if (kind === "file" && mode !== undefined && typeof json.data === "string")
    return { path, kind, mode, data: Buffer.from(json.data, "base64") };
  if (kind === "directory" && mode !== undefined) return { path, kind, mode };
  if (kind === "link" && typeof json.target === "string") return { path, kind, target: json.target };
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isTime(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
