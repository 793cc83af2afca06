// The real Turborepo remote cache server (the turborepo-remote-cache package) on loopback, storing
// artifacts as files under a temporary directory, for tests of quire's remote job cache.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "./paths.js";

export interface RemoteCacheServer {
  /** http://127.0.0.1:PORT */
  url: string;
  /** Where it keeps artifacts: `<storage>/<team>/<hash>` (and `<hash>.tag`, the signature). */
  storage: string;
  /** SIGKILLs it (a server gone mid-use) and waits for its exit. */
  kill(): Promise<void>;
}

/** Starts the server with `token` and, if given, a signature key; it is killed and its storage removed by `stop`. */
export async function startRemoteCacheServer(token: string, signatureKey?: string): Promise<RemoteCacheServer & { stop(): Promise<void> }> {
  const storage = mkdtempSync(join(tmpdir(), "quire-remote-cache-"));
  const child: ChildProcess = spawn(process.execPath, [join(repoRoot, "node_modules/turborepo-remote-cache/dist/cli.js")], {
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      // Port 0: the kernel picks a free one, and the server's first lines say which.
      PORT: "0",
      STORAGE_PROVIDER: "local",
      STORAGE_PATH: storage,
      STORAGE_PATH_USE_TMP_FOLDER: "false",
      TURBO_TOKEN: token,
      ...(signatureKey ? { TURBO_REMOTE_CACHE_SIGNATURE_KEY: signatureKey } : {}),
      ENABLE_STATUS_LOG: "false",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the remote cache server did not start within 30 s: ${output}`)), 30_000);
    const read = (text: string) => {
      output += text;
      const found = /listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found[1]!);
      }
    };
    child.stdout!.setEncoding("utf8").on("data", read);
    child.stderr!.setEncoding("utf8").on("data", read);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the remote cache server exited: ${output}`));
    });
  });
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await exited;
  };
  return {
    url,
    storage,
    kill,
    async stop() {
      await kill();
      rmSync(storage, { recursive: true, force: true });
    },
  };
}
