// Running the real quirectl binary against a test daemon's home, without blocking the test's event loop.
import { spawn } from "node:child_process";
import { QUIRECTL } from "./daemon.js";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function quirectl(
  home: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [QUIRECTL, "--home", home, ...args], {
      cwd: options.cwd,
      env: { ...process.env, QUIRE_HOME: "", QUIRE_NO_AUTOSTART: "1", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (t: string) => (stdout += t));
    child.stderr.setEncoding("utf8").on("data", (t: string) => (stderr += t));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`quirectl ${args.join(" ")} took over ${options.timeoutMs ?? 60_000} ms; stderr: ${stderr}`));
    }, options.timeoutMs ?? 60_000);
    // "close", not "exit": the output may still be in the pipes when the process has exited.
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(options.input ?? "");
  });
}

/** `quirectl ... --json`, parsed; fails with the output when the exit code is not `expect`. */
export async function quirectlJson(home: string, args: string[], expect = 0, options: Parameters<typeof quirectl>[2] = {}): Promise<any> {
  const r = await quirectl(home, [...args, "--json"], options);
  if (r.code !== expect)
    throw new Error(`quirectl ${args.join(" ")} exited ${r.code}, expected ${expect}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return JSON.parse(r.stdout);
}
