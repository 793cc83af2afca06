// What quire does on the host for the well-known actions a workflow `uses:` (README.md, "Your GitHub
// workflows"): a small shell script each, run as the step's command. checkout has nothing to do (the
// workspace already is the checkout of the exact tree); setup-* find a matching toolchain on PATH or in a
// version manager's directories and put it first on PATH for the steps after, or fail naming what was
// wanted and what was found. Nothing is downloaded.
import type { Step } from "../pipeline/model.js";

/** actions/cache's steps are not scripts of their own: the runner restores and saves (src/ci/cache). */
type Adapter = Exclude<NonNullable<Step["action"]>["adapter"], "cache" | "cache-restore" | "cache-save">;

const quote = (text: string) => `'${text.replace(/'/g, "'\\''")}'`;

/** Where each version manager keeps its toolchains, as `bin` directories (globs). */
const NODE_DIRS = [
  "$HOME/.nvm/versions/node/*/bin",
  "$HOME/.local/share/fnm/node-versions/*/installation/bin",
  "$HOME/.volta/tools/image/node/*/bin",
  "$HOME/.asdf/installs/nodejs/*/bin",
  "$HOME/.local/share/mise/installs/node/*/bin",
];
const PYTHON_DIRS = ["$HOME/.pyenv/versions/*/bin", "$HOME/.asdf/installs/python/*/bin", "$HOME/.local/share/mise/installs/python/*/bin"];
const GO_DIRS = [
  "/usr/local/go/bin",
  "$HOME/go/*/bin",
  "$HOME/.asdf/installs/golang/*/go/bin",
  "$HOME/.local/share/mise/installs/go/*/bin",
];
const JAVA_DIRS = [
  "/usr/lib/jvm/*/bin",
  "$HOME/.sdkman/candidates/java/*/bin",
  "$HOME/.asdf/installs/java/*/bin",
  "$HOME/.local/share/mise/installs/java/*/bin",
];

/** The script for a step that `uses:` a well-known action, with its inputs already evaluated. */
export function adapterScript(adapter: Adapter, inputs: Record<string, string>, entry?: string): string {
  switch (adapter) {
    case "checkout":
      return 'echo "quire: the workspace already is the checkout of the exact tree (${GITHUB_SHA:-no commit})"';
    case "setup-node":
      return toolchain("node", "node", "node --version", NODE_DIRS, inputs["node-version"], inputs["node-version-file"]);
    case "setup-python":
      return toolchain("python", "python3", "python3 --version", PYTHON_DIRS, inputs["python-version"], inputs["python-version-file"]);
    case "setup-go":
      return toolchain("go", "go", "go version", GO_DIRS, inputs["go-version"], inputs["go-version-file"]);
    case "setup-java":
      return toolchain("java", "java", "java -version 2>&1", JAVA_DIRS, inputs["java-version"], inputs["java-version-file"]);
    case "node":
      // A JavaScript action: its inputs are in INPUT_<NAME> (WorkflowJob sets them), as on GitHub.
      return `exec node ${quote(entry ?? "")}`;
    case "local":
    case "kept":
      // Replaced by the action's own steps when the run is submitted (workflow/local-actions.ts).
      return 'echo "quire: this local action was not read when the run was submitted" >&2; exit 1';
  }
}

/**
 * A script that looks for `binary` on PATH and in `dirs`, reads each one's version with `versionCommand`
 * (its first dotted number), and puts the first matching one's directory on GITHUB_PATH. A wanted version
 * matches by prefix (`20` matches 20.11.1, `3.11` matches 3.11.7); `x` parts, `lts/*`, `latest`, `stable`,
 * `node` and no version match any.
 */
function toolchain(
  name: string,
  binary: string,
  versionCommand: string,
  dirs: string[],
  wanted: string | undefined,
  versionFile: string | undefined,
): string {
  const lines = [
    `wanted=${quote(wanted ?? "")}`,
    versionFile ? `[ -z "$wanted" ] && wanted=$(tr -d ' \\r\\n' < ${quote(versionFile)} | sed 's/^v//')` : "",
    "wanted=${wanted#v}; wanted=${wanted%%.x*}; wanted=${wanted%%.\\**}",
    'case "$wanted" in "lts/"*|latest|stable|node|"*") wanted="";; esac',
    'found=""',
    `onpath=$(command -v ${binary} 2>/dev/null || true)`,
    `for dir in \${onpath:+"$(dirname "$onpath")"} ${dirs.join(" ")}; do`,
    `  [ -x "$dir/${binary}" ] || continue`,
    `  version=$(PATH="$dir:$PATH" ${versionCommand} | grep -oE '[0-9]+(\\.[0-9]+)+' | head -n 1)`,
    '  [ -n "$version" ] || continue',
    '  found="$found $version"',
    '  case "$version." in "$wanted".*|"$wanted") ;; *) [ -z "$wanted" ] || continue;; esac',
    '  echo "$dir" >> "$GITHUB_PATH"',
    `  echo "quire: ${name} $version from $dir"`,
    "  exit 0",
    "done",
    `echo "quire: no ${name} \${wanted:-of any version} on this machine (found:\${found:- none}); install it, or put it on PATH" >&2`,
    "exit 1",
  ];
  return lines.filter((line) => line !== "").join("\n");
}
