// Options every quirectl command takes.
export interface GlobalArgs {
  home?: string;
  json: boolean;
}
