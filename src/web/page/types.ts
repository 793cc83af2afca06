// The runs as the server sends them (src/web/run-json.ts): times in ms since the epoch, null when not set.
export interface RunSummary {
  id: number;
  repo: string;
  ref: string;
  pipeline: string;
  state: string;
  failureKind: string | null;
  failureSummary: string | null;
  commit: string | null;
  dirty: boolean;
  trigger: string | null;
  rerunOf: number | null;
  supersededBy: number | null;
  createdAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
}

export interface RunDetail extends RunSummary {
  tree: string | null;
  pipelineFile: string | null;
  jobs: Job[];
  annotations: Annotation[];
}

export interface Job {
  name: string;
  state: string;
  exitCode: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  attempt: number;
  maxAttempts: number;
  needs: string[];
  cachedFrom: number | null;
  steps: Step[];
}

export interface Step {
  index: number;
  name: string;
  state: string;
  exitCode: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  attempt: number;
  command: string;
  summary: string | null;
}

export interface Annotation {
  text: string;
  job: string | null;
  step: string | null;
  createdAt: number | null;
}
