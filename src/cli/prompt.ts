// quirectl prompt: the state of this branch's newest run in a shell prompt, at no process per prompt.
// The ci backend keeps a status file per repository (src/ci/status/status-file.ts); the snippets printed
// here find it and read it with the shell alone (bash, zsh and fish builtins: parameter expansion, `read`,
// `[[ -e ]]`), so a prompt costs a few stats and two small reads. `--print` prints the same segment from
// node, for scripts and for checking the snippets.
import { readFileSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { readStatusFile, type RefState } from "../ci/status/status-file.js";
import { resolvePlaces } from "../core/places.js";
import { ArgumentError } from "./errors.js";
import { ExitCode } from "./exit-codes.js";
import type { GlobalArgs } from "./global-args.js";
import { printJson, println } from "./output.js";
import { PROMPT_SHELLS } from "./prompt-shells.js";

const MARKS: Record<RefState, string> = { complete: "✓", failed: "✗", active: "●", pending: "○", cancelled: "⊘" };

/** The segment for a ref's state: `quire ✓` when it passed, else the mark and the run (`quire ✗ #12`). */
export function segment(state: RefState, run: number): string {
  return state === "complete" ? `quire ${MARKS.complete}` : `quire ${MARKS[state]} #${run}`;
}

export async function prompt(args: GlobalArgs & { shell?: string; print: boolean }): Promise<number> {
  const statusDir = join(resolvePlaces({ home: args.home }).dataDir, "status");
  if (args.print || args.shell === undefined) {
    const found = currentSegment(statusDir, process.cwd());
    if (args.json) printJson(found ?? null);
    else if (found) println(found.segment);
    return ExitCode.Ok;
  }
  if (!(PROMPT_SHELLS as readonly string[]).includes(args.shell))
    throw new ArgumentError(`--shell takes ${PROMPT_SHELLS.join(", ")}; got ${JSON.stringify(args.shell)}`);
  process.stdout.write(snippet(args.shell as (typeof PROMPT_SHELLS)[number], statusDir));
  return ExitCode.Ok;
}

/** The segment of the repository holding `cwd`, on the branch it has checked out; undefined without one. */
export function currentSegment(
  statusDir: string,
  cwd: string,
): { repo: string; ref: string; state: RefState; run: number; segment: string } | undefined {
  let dir: string;
  try {
    dir = realpathSync(cwd);
  } catch {
    return undefined;
  }
  for (;;) {
    if (exists(join(dir, ".git"))) break;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
  const ref = headRef(join(dir, ".git"));
  if (ref === undefined) return undefined;
  const status = readStatusFile(statusDir, dir)?.find((r) => r.ref === ref);
  return status && { repo: dir, ref, state: status.state, run: status.run, segment: segment(status.state, status.run) };
}

/** The branch HEAD is on (or its commit when detached), reading `.git` as the snippets do. */
function headRef(dotGit: string): string | undefined {
  try {
    let gitDir = dotGit;
    if (statSync(dotGit).isFile()) {
      const line = readFileSync(dotGit, "utf8")
        .split("\n")[0]!
        .replace(/^gitdir: /, "");
      gitDir = isAbsolute(line) ? line : join(dirname(dotGit), line);
    }
    const head = readFileSync(join(gitDir, "HEAD"), "utf8").split("\n")[0]!;
    return head.startsWith("ref: refs/heads/") ? head.slice("ref: refs/heads/".length) : head.replace(/^ref: /, "");
  } catch {
    return undefined;
  }
}

function exists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** A single-quoted word for any of the shells. */
function quoted(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const fishQuoted = (text: string) => `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;

export function snippet(shell: (typeof PROMPT_SHELLS)[number], statusDir: string): string {
  switch (shell) {
    case "bash":
      return bash(statusDir);
    case "zsh":
      return zsh(statusDir);
    case "fish":
      return fish(statusDir);
    case "sh":
      return posix(statusDir);
    case "tmux":
      return [
        "# quire's segment in tmux's status line, for each pane's directory. tmux runs #() with sh, once per",
        "# status-interval; the sh function reads the status file with sh's own builtins, no node. First:",
        "#   quirectl prompt --shell sh > ~/.config/quire/prompt.sh",
        "# then in ~/.tmux.conf:",
        `set -g status-right '#(cd "#{pane_current_path}" 2>/dev/null && . ~/.config/quire/prompt.sh && __quire_status && printf "%s" "$QUIRE_PROMPT") %H:%M'`,
        "",
      ].join("\n");
    case "starship":
      return [
        "# quire's segment as a starship custom module (starship runs the command with sh in the current",
        "# directory; the sh function reads the status file with sh's own builtins, no node). First:",
        "#   quirectl prompt --shell sh > ~/.config/quire/prompt.sh",
        "# then in ~/.config/starship.toml:",
        "[custom.quire]",
        `command = '. ~/.config/quire/prompt.sh && __quire_status && printf "%s" "$QUIRE_PROMPT"'`,
        "when = true",
        'shell = ["sh"]',
        'format = "[$output]($style) "',
        'style = "bold"',
        "",
      ].join("\n");
  }
}

// The shells' functions. Each sets QUIRE_PROMPT (fish: prints it) to the segment of the repository
// holding the directory (its physical path, as git names the repository) on its checked-out branch,
// and to nothing elsewhere. The steps are the same in each: walk up to the directory holding .git, read
// HEAD (through a worktree's gitdir file), spell the status file's name (% as %25, / as %2F), read the
// file's lines until the branch's.

function bash(statusDir: string): string {
  return `# quire's prompt segment for bash: eval "$(quirectl prompt --shell bash)" in ~/.bashrc, then put
# \${QUIRE_PROMPT} in PS1, e.g. PS1='\${QUIRE_PROMPT:+[$QUIRE_PROMPT] }'"$PS1". It runs no process: the
# shell's own cd, [[ ]], read and parameter expansion, from PROMPT_COMMAND.
__quire_status_dir=${quoted(statusDir)}
__quire_status() {
  QUIRE_PROMPT=
  local here=$PWD back=$OLDPWD d gitdir head ref name line r s id
  # The physical directory without $(pwd -P), which would fork: cd -P to it and back.
  builtin cd -P . 2>/dev/null || return 0
  d=$PWD
  builtin cd -- "$here" 2>/dev/null
  OLDPWD=$back
  until [[ -e $d/.git ]]; do
    [[ -z $d ]] && return 0
    d=\${d%/*}
  done
  gitdir=$d/.git
  if [[ -f $gitdir ]]; then
    IFS= read -r line < "$gitdir" || return 0
    gitdir=\${line#gitdir: }
    [[ $gitdir == /* ]] || gitdir=$d/$gitdir
  fi
  IFS= read -r head < "$gitdir/HEAD" || return 0
  ref=\${head#ref: }
  ref=\${ref#refs/heads/}
  name=\${d//\\%/%25}
  name=\${name//\\//%2F}
  [[ -r $__quire_status_dir/$name ]] || return 0
  {
    IFS= read -r line && [[ $line == "quire-status 1" ]] || return 0
    while read -r r s id; do
      [[ $r == "$ref" ]] || continue
      case $s in
        complete) QUIRE_PROMPT="quire ✓" ;;
        failed) QUIRE_PROMPT="quire ✗ #$id" ;;
        active) QUIRE_PROMPT="quire ● #$id" ;;
        pending) QUIRE_PROMPT="quire ○ #$id" ;;
        cancelled) QUIRE_PROMPT="quire ⊘ #$id" ;;
      esac
      break
    done
  } < "$__quire_status_dir/$name"
  return 0
}
case ";\${PROMPT_COMMAND[*]};" in
  *";__quire_status;"*) ;;
  *) PROMPT_COMMAND="__quire_status\${PROMPT_COMMAND:+;$PROMPT_COMMAND}" ;;
esac
`;
}

function zsh(statusDir: string): string {
  return `# quire's prompt segment for zsh: eval "$(quirectl prompt --shell zsh)" in ~/.zshrc, then
# setopt prompt_subst and put \${QUIRE_PROMPT} in PROMPT, e.g. PROMPT='\${QUIRE_PROMPT:+[$QUIRE_PROMPT] }'$PROMPT.
# It runs no process: zsh's own :A, [[ ]], read and parameter expansion, from precmd.
typeset -g __quire_status_dir=${quoted(statusDir)}
__quire_status() {
  emulate -L zsh
  typeset -g QUIRE_PROMPT=
  local d=\${PWD:A} gitdir head ref name line r s id
  until [[ -e $d/.git ]]; do
    [[ -z $d || $d == / ]] && return 0
    d=\${d%/*}
  done
  gitdir=$d/.git
  if [[ -f $gitdir ]]; then
    IFS= read -r line < $gitdir || return 0
    gitdir=\${line#gitdir: }
    [[ $gitdir == /* ]] || gitdir=$d/$gitdir
  fi
  IFS= read -r head < $gitdir/HEAD || return 0
  ref=\${head#ref: }
  ref=\${ref#refs/heads/}
  name=\${d//\\%/%25}
  name=\${name//\\//%2F}
  [[ -r $__quire_status_dir/$name ]] || return 0
  {
    IFS= read -r line && [[ $line == "quire-status 1" ]] || return 0
    while read -r r s id; do
      [[ $r == $ref ]] || continue
      case $s in
        complete) QUIRE_PROMPT="quire ✓" ;;
        failed) QUIRE_PROMPT="quire ✗ #$id" ;;
        active) QUIRE_PROMPT="quire ● #$id" ;;
        pending) QUIRE_PROMPT="quire ○ #$id" ;;
        cancelled) QUIRE_PROMPT="quire ⊘ #$id" ;;
      esac
      break
    done
  } < $__quire_status_dir/$name
  return 0
}
autoload -Uz add-zsh-hook
add-zsh-hook precmd __quire_status
`;
}

function fish(statusDir: string): string {
  return `# quire's prompt segment for fish: quirectl prompt --shell fish > ~/.config/fish/conf.d/quire.fish,
# then call __quire_prompt from fish_prompt (or fish_right_prompt). It runs no process: fish's builtins
# (pwd, test, read, string) never fork.
set -g __quire_status_dir ${fishQuoted(statusDir)}
function __quire_prompt --description "the state of this branch's newest quire run"
    set -l d (pwd -P)
    while not test -e "$d/.git"
        test -z "$d"; and return 0
        set d (string replace -r '/[^/]*$' '' -- $d)
    end
    set -l gitdir "$d/.git"
    if test -f "$gitdir"
        read -l line < "$gitdir"; or return 0
        set gitdir (string replace -r '^gitdir: ' '' -- $line)
        string match -q '/*' -- $gitdir; or set gitdir "$d/$gitdir"
    end
    read -l head < "$gitdir/HEAD"; or return 0
    set -l ref (string replace -r '^ref: (refs/heads/)?' '' -- $head)
    set -l name (string replace -a '%' '%25' -- $d | string replace -a '/' '%2F')
    set -l file "$__quire_status_dir/$name"
    test -r "$file"; or return 0
    set -l lines
    while read -l line
        set -a lines $line
    end < "$file"
    test "$lines[1]" = "quire-status 1"; or return 0
    for line in $lines[2..-1]
        set -l f (string split ' ' -- $line)
        test "$f[1]" = "$ref"; or continue
        switch $f[2]
            case complete
                printf '%s' "quire ✓"
            case failed
                printf '%s' "quire ✗ #$f[3]"
            case active
                printf '%s' "quire ● #$f[3]"
            case pending
                printf '%s' "quire ○ #$f[3]"
            case cancelled
                printf '%s' "quire ⊘ #$f[3]"
        end
        return 0
    end
end
`;
}

function posix(statusDir: string): string {
  return `# quire's prompt segment for any POSIX sh (tmux and starship run it): . this file, then __quire_status
# sets QUIRE_PROMPT. It runs no process: sh's own cd, [ ], read and parameter expansion.
__quire_status_dir=${quoted(statusDir)}
__quire_status() {
  QUIRE_PROMPT=
  __q_here=$PWD
  cd -P . 2>/dev/null || return 0
  __q_d=$PWD
  cd -- "$__q_here" 2>/dev/null
  until [ -e "$__q_d/.git" ]; do
    [ -z "$__q_d" ] && return 0
    __q_d=\${__q_d%/*}
  done
  __q_git=$__q_d/.git
  if [ -f "$__q_git" ]; then
    IFS= read -r __q_line < "$__q_git" || return 0
    __q_git=\${__q_line#gitdir: }
    case $__q_git in /*) ;; *) __q_git=$__q_d/$__q_git ;; esac
  fi
  IFS= read -r __q_head < "$__q_git/HEAD" || return 0
  __q_ref=\${__q_head#ref: }
  __q_ref=\${__q_ref#refs/heads/}
  # % as %25 and / as %2F, with the expansions POSIX has.
  __q_rest=$__q_d
  __q_name=
  while :; do
    case $__q_rest in
      *[/%]*)
        __q_pre=\${__q_rest%%[/%]*}
        __q_rest=\${__q_rest#"$__q_pre"}
        case $__q_rest in /*) __q_name=$__q_name$__q_pre%2F ;; *) __q_name=$__q_name$__q_pre%25 ;; esac
        __q_rest=\${__q_rest#?}
        ;;
      *)
        __q_name=$__q_name$__q_rest
        break
        ;;
    esac
  done
  [ -r "$__quire_status_dir/$__q_name" ] || return 0
  {
    IFS= read -r __q_line && [ "$__q_line" = "quire-status 1" ] || return 0
    while read -r __q_r __q_s __q_id; do
      [ "$__q_r" = "$__q_ref" ] || continue
      case $__q_s in
        complete) QUIRE_PROMPT="quire ✓" ;;
        failed) QUIRE_PROMPT="quire ✗ #$__q_id" ;;
        active) QUIRE_PROMPT="quire ● #$__q_id" ;;
        pending) QUIRE_PROMPT="quire ○ #$__q_id" ;;
        cancelled) QUIRE_PROMPT="quire ⊘ #$__q_id" ;;
      esac
      break
    done
  } < "$__quire_status_dir/$__q_name"
  return 0
}
`;
}
