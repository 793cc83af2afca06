// quirectl's exit codes: scripts depend on them.
export const ExitCode = {
  Ok: 0,
  /** The thing failed: a run failed, a check failed, the daemon refused. */
  Failed: 1,
  Usage: 2,
  DaemonUnreachable: 3,
} as const;
