// The options every quirectl command takes (--home, --json, --allow-root).

export interface GlobalArgs {
  home?: string;
  json: boolean;
  /** Let a quired this command starts run as root (--allow-root, QUIRE_ALLOW_ROOT=1). */
  allowRoot?: boolean;
}

/** The quired flags for a daemon this command starts. */
export function daemonArgs(args: GlobalArgs): string[] {
  return args.allowRoot ? ["--allow-root"] : [];
}
