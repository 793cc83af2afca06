// The page's HTML and CSS. The HTML is a shell the script fills in (src/web/page/main.ts); it holds no
// data, so there is nothing in it to escape. And the page that takes the browser on after the token
// exchange, which holds only a path of this page, escaped.
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>quire runs</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/vendor/xterm.css">
<link rel="stylesheet" href="/app/style.css">
<script type="module" src="/app/main.js"></script>
</head>
<body>
<header><a href="/" class="brand">quire</a> <span id="status" class="status"></span></header>
<main id="main"></main>
</body>
</html>
`;

/**
 * The answer to the URL with the token: it moves the browser on to `location` (a path of this page) with
 * a refresh, which the CSP allows where a script would not, and which the browser makes from this
 * origin, so that the cookie set with it is sent.
 */
export function exchangePage(location: string): string {
  const url = location.replace(/[&"'<>]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${url}"><title>quire runs</title><link rel="icon" href="data:,"><a href="${url}">quire runs</a>\n`;
}

export const PAGE_CSS = `
:root { color-scheme: light dark; --fg: #1f2328; --bg: #fff; --muted: #656d76; --line: #d0d7de; --panel: #f6f8fa;
  --complete: #1a7f37; --failed: #cf222e; --active: #9a6700; --pending: #656d76; --cancelled: #57606a; --link: #0969da; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0; --line: #30363d; --panel: #161b22;
  --complete: #3fb950; --failed: #f85149; --active: #d29922; --pending: #8d96a0; --cancelled: #8d96a0; --link: #4493f8; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
header { display: flex; gap: 1em; align-items: baseline; padding: .6em 1.2em; border-bottom: 1px solid var(--line); background: var(--panel); }
header .brand { font-weight: 700; font-size: 1.1em; color: var(--fg); text-decoration: none; }
.status { color: var(--muted); font-size: .9em; }
main { padding: 1em 1.2em; }
a { color: var(--link); }
h1 { font-size: 1.3em; margin: 0 0 .4em; }
h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
.filters { display: flex; gap: .8em; margin-bottom: .8em; flex-wrap: wrap; }
.filters label { color: var(--muted); }
select, button { font: inherit; }
button { padding: .25em .8em; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); color: var(--fg); cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
table.runs { border-collapse: collapse; width: 100%; }
table.runs th, table.runs td { text-align: left; padding: .35em .6em; border-bottom: 1px solid var(--line); vertical-align: top; }
table.runs th { color: var(--muted); font-weight: 600; }
.mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .92em; }
.muted { color: var(--muted); }
.summary-text { color: var(--failed); white-space: pre-wrap; max-width: 40em; }
.state { font-weight: 600; }
.state-complete, .state-cached { color: var(--complete); }
.state-failed { color: var(--failed); }
.state-active { color: var(--active); }
.state-pending, .state-skipped { color: var(--pending); }
.state-cancelled, .state-superseded { color: var(--cancelled); }
.facts { display: flex; gap: 1.4em; flex-wrap: wrap; color: var(--muted); margin-bottom: .6em; }
.actions { display: flex; gap: .6em; margin: .4em 0 .8em; }
.graph { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; background: var(--panel); }
.graph svg text { font: 12px system-ui, sans-serif; fill: var(--fg); }
.graph .node rect { fill: var(--bg); stroke: var(--line); stroke-width: 1.5; rx: 6; }
.graph .node.selected rect { stroke: var(--link); stroke-width: 2.5; }
.graph .node { cursor: pointer; }
.graph .edge { stroke: var(--muted); fill: none; stroke-width: 1.2; }
.graph .group rect { fill: none; stroke: var(--muted); stroke-dasharray: 4 3; }
.layout { display: grid; grid-template-columns: minmax(14em, 22em) 1fr; gap: 1em; margin-top: 1em; }
.steps { list-style: none; padding: 0; margin: 0; }
.steps li { padding: .3em .5em; border-radius: 6px; cursor: pointer; display: flex; justify-content: space-between; gap: .5em; }
.steps li.selected { background: var(--panel); outline: 1px solid var(--line); }
.steps .job { font-weight: 600; margin-top: .6em; cursor: default; }
.log-head { display: flex; justify-content: space-between; align-items: baseline; gap: 1em; }
.log { height: 60vh; min-height: 20em; background: #0d1117; padding: 4px; border-radius: 6px; }
.notice { color: var(--active); }
pre.text { white-space: pre-wrap; background: var(--panel); padding: .6em; border-radius: 6px; border: 1px solid var(--line); margin: .3em 0; }
.annotations li { margin: .2em 0; }
.error { color: var(--failed); }
`;
