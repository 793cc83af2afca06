// The remote job cache against a hostile server: a raw loopback server answers what the real one never
// does (artifacts whose files climb out through links, bodies without end), and nothing it sends is
// written outside the result's entry or kept in memory past the artifact's bound.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { gzipSync } from "node:zlib";
import { JobResults } from "../../../src/ci/cache/job-results.js";
import { RemoteCacheClient } from "../../../src/ci/cache/remote-client.js";
import { RemoteResults } from "../../../src/ci/cache/remote-results.js";
import type { ArtifactFile } from "../../../src/ci/cache/result-artifact.js";
import { parsePipeline } from "../../../src/ci/pipeline/parse.js";
import { RunStore } from "../../../src/ci/store/index.js";
import { REMOTE_ARTIFACT_MAX_BYTES } from "../../../src/ci/rules.js";

const TOKEN = "hostile-server-test-token";
const dir = mkdtempSync(join(tmpdir(), "quire-remote-results-"));
const store = RunStore.open(join(dir, "quire.db"));
/** What the server answers for a hash; unknown hashes are a 404. */
const answers = new Map<string, (request: IncomingMessage, response: ServerResponse) => void>();
const server = createServer((request, response) => {
  const hash = /\/v8\/artifacts\/([^?]+)/.exec(request.url ?? "")?.[1] ?? "";
  const answer = answers.get(hash);
  if (answer) answer(request, response);
  else response.writeHead(404).end();
});
let url: string;
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const pipeline = parsePipeline(["jobs:", "  build:", "    outputs: [out]", "    steps:", "      - make"].join("\n"), "quire.yml");
const job = pipeline.jobs[0]!;

function remote(timeoutMs = 10_000, signatureKey: string | null = null): RemoteResults {
  return new RemoteResults({
    config: { url, team: "team", tokenSecret: "T", signatureKeySecret: signatureKey && "K", timeoutMs },
    token: TOKEN,
    signatureKey,
    store,
    results: new JobResults(join(dir, "cache")),
    logDir: join(dir, "logs"),
    now: () => 1_000,
  });
}

/**
 * The server's artifact of `hash`: a whole result of the build job holding `files` in the order given
 * (packResult sorts them; a server need not).
 */
function serve(hash: string, files: ArtifactFile[]): void {
  serveBody(hash, gzipSync(JSON.stringify(resultJson(hash, files))));
}

/** The artifact of `hash` whose body (what its recorded hash is of) is `body`, with no signature. */
function serveBody(hash: string, body: Buffer): void {
  const bytes = Buffer.concat([Buffer.from("QUIRE-R1"), createHash("sha256").update(body).digest(), body]);
  answers.set(hash, (_, response) => response.writeHead(200, { "content-type": "application/octet-stream" }).end(bytes));
}

function resultJson(hash: string, files: ArtifactFile[]) {
  return {
    inputs: hash,
    job: "build",
    startedAt: 1,
    finishedAt: 2,
    steps: [],
    outputs: {},
    files: files.map((f) => (f.kind === "file" ? { ...f, data: f.data.toString("base64") } : f)),
  };
}

const fetchOf = (hash: string, results = remote()) =>
  results.fetch(job, createHash("sha256").update(hash).digest("hex"), hash, { repo: "/repo", ref: "main", pipeline, workspace: "." });

test("a file and a link of the same path are refused: nothing is written through the link", async () => {
  const outside = join(dir, "outside");
  const hash = "a".repeat(64);
  // The link in the first batch of writes, the file (after 16 others) in a later one.
  const others: ArtifactFile[] = Array.from({ length: 16 }, (_, i) => ({
    path: `out/f${String(i).padStart(2, "0")}`,
    kind: "file",
    mode: 0o644,
    data: Buffer.from("x"),
  }));
  serve(hash, [
    { path: "out", kind: "directory", mode: 0o755 },
    { path: "out/a-link", kind: "link", target: outside },
    ...others,
    { path: "out/a-link", kind: "file", mode: 0o644, data: Buffer.from("written through the link") },
  ]);
  await assert.rejects(
    fetchOf(hash),
    (error: any) => error.code === "QUIRE_ERR_REMOTE_ARTIFACT_CORRUPT" && /out\/a-link/.test(error.message),
  );
  assert.equal(existsSync(outside), false, "nothing was written outside the result's entry");
});

test("a file under a link is refused wherever the link comes in the list", async () => {
  const outside = mkdtempSync(join(dir, "outside-"));
  const hash = "b".repeat(64);
  serve(hash, [
    { path: "out", kind: "directory", mode: 0o755 },
    { path: "out/l/x", kind: "file", mode: 0o644, data: Buffer.from("written through the link") },
    { path: "out/l", kind: "link", target: outside },
  ]);
  await assert.rejects(
    fetchOf(hash),
    (error: any) => error.code === "QUIRE_ERR_REMOTE_ARTIFACT_CORRUPT" && /out\/l\/x/.test(error.message),
  );
  assert.equal(existsSync(join(outside, "x")), false, "nothing was written outside the result's entry");
});

test("a body without a length is read no further than an artifact may go", async () => {
  const hash = "c".repeat(64);
  const piece = Buffer.alloc(1024 * 1024, 0x51);
  let sent = 0;
  // Chunked, no content-length: only what arrives says how big it is.
  answers.set(hash, (_, response) => {
    response.writeHead(200, { "content-type": "application/octet-stream" });
    const more = () => {
      while (sent <= REMOTE_ARTIFACT_MAX_BYTES + piece.length && !response.destroyed) {
        sent += piece.length;
        if (!response.write(piece)) return void response.once("drain", more);
      }
      response.end();
    };
    more();
  });
  await assert.rejects(
    fetchOf(hash),
    (error: any) => error.code === "QUIRE_ERR_REMOTE_ARTIFACT_CORRUPT" && /over the \d+ bytes/.test(error.message),
  );
});

test("a body that drips slower than the timeout is given up at the timeout", async () => {
  const hash = "d".repeat(64);
  answers.set(hash, (_, response) => {
    response.writeHead(200, { "content-type": "application/octet-stream" });
    const drip = setInterval(() => response.write("Q"), 50);
    response.on("close", () => clearInterval(drip));
  });
  await assert.rejects(
    fetchOf(hash, remote(500)),
    (error: any) => error.code === "QUIRE_ERR_REMOTE_CACHE_UNREACHABLE" && /no answer within 500 ms/.test(error.message),
  );
});

test("a redirect to another host does not take the token with it", async () => {
  const hash = "e".repeat(64);
  const seen: (string | undefined)[] = [];
  const elsewhere = createServer((request, response) => {
    seen.push(request.headers.authorization);
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
  try {
    const port = (elsewhere.address() as AddressInfo).port;
    answers.set(hash, (request, response) => {
      assert.equal(request.headers.authorization, `Bearer ${TOKEN}`);
      response.writeHead(307, { location: `http://localhost:${port}/v8/artifacts/${hash}` }).end();
    });
    assert.equal(await fetchOf(hash), undefined, "the other host's 404 is a miss");
    assert.deepEqual(seen, [undefined]);
  } finally {
    elsewhere.closeAllConnections();
    elsewhere.close();
  }
});

test("with a signature key, an unsigned artifact is refused before it is unpacked (a gzip bomb costs nothing)", async () => {
  const hash = "f".repeat(64);
  // Whole (its recorded hash is right) but no gzip: unpacking it would be the first thing to fail.
  serveBody(hash, Buffer.from("not gzip: what a bomb would be unpacked from"));
  await assert.rejects(fetchOf(hash, remote(10_000, "signing-key")), { code: "QUIRE_ERR_REMOTE_ARTIFACT_SIGNATURE" });
});

test("a link that points outside the workspace is refused", async () => {
  for (const [n, target] of ["/etc", "../../up", "../.."].entries()) {
    const hash = `1${n}`.padEnd(64, "0");
    serve(hash, [
      { path: "out", kind: "directory", mode: 0o755 },
      { path: "out/l", kind: "link", target },
    ]);
    await assert.rejects(
      fetchOf(hash),
      (error: any) => error.code === "QUIRE_ERR_REMOTE_ARTIFACT_CORRUPT" && /out\/l/.test(error.message),
      target,
    );
  }
  const hash = "2".repeat(64);
  serve(hash, [
    { path: "out", kind: "directory", mode: 0o755 },
    { path: "out/app", kind: "file", mode: 0o755, data: Buffer.from("app") },
    { path: "out/l", kind: "link", target: "../out/app" },
  ]);
  assert.equal(typeof (await fetchOf(hash)), "number", "a link within the workspace is kept");
});

test("a server that has nothing on HEAD and then fails the PUT is a status error that names no token", async () => {
  const client = new RemoteCacheClient({ url, team: "team", tokenSecret: "T", signatureKeySecret: null, timeoutMs: 10_000 }, TOKEN);
  const methods: string[] = [];
  const hash = "3".repeat(64);
  answers.set(hash, (request, response) => {
    methods.push(request.method!);
    request.resume();
    response.writeHead(request.method === "PUT" ? 500 : 404).end();
  });
  assert.equal(await client.has(hash, AbortSignal.timeout(10_000)), false);
  await assert.rejects(client.put(hash, Buffer.from("bytes"), null, AbortSignal.timeout(10_000)), (error: any) => {
    return error.code === "QUIRE_ERR_REMOTE_CACHE_STATUS" && !error.message.includes(TOKEN);
  });
  assert.deepEqual(methods, ["HEAD", "PUT"]);
});
