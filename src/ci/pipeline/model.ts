// The parsed, validated pipeline: plain data, JSON-serialisable, stored with each run.

export interface Pipeline { name: string; file: string; env: Record<string, string>; jobs: Job[] } // jobs in file order

export interface Job {
  name: string; needs: string[]; env: Record<string, string>; timeoutMs: number | null;
  retries: number; secrets: string[]; workingDirectory: string | null; steps: Step[];
}

export interface Step {
  name: string; run: string; env: Record<string, string>; timeoutMs: number | null;
  workingDirectory: string | null;
} // name defaults to the first line of `run`, trimmed, <= 60 chars
