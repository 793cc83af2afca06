// Local actions run from the run's own tree: a composite action (inputs with defaults, its own steps
// context, outputs) that uses a JavaScript action (INPUT_ variables, GITHUB_OUTPUT, pre and post), all on
// the host's node, through a real daemon, PTYs and a git repository.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, test } from "node:test";
import { startTestDaemon, type TestDaemon } from "../../helpers/daemon.js";
import { tempRepos } from "../../helpers/git.js";
import { quirectl, quirectlJson } from "../../helpers/quirectl.js";

const files = {
  ".github/workflows/ci.yml": `on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - id: greet
        uses: ./.github/actions/greet
        with:
          who: world
      - run: echo "composite said \${{ steps.greet.outputs.line }}"
      - run: echo "main step done"
`,
  ".github/actions/greet/action.yml": `name: greet
inputs:
  who:
    required: true
  punctuation:
    default: "!"
outputs:
  line:
    value: \${{ steps.js.outputs.greeting }}
runs:
  using: composite
  steps:
    - run: echo "composite got \${{ inputs.who }}\${{ inputs.punctuation }}"
      shell: bash
    - id: js
      uses: ./.github/actions/shout
      with:
        text: hello \${{ inputs.who }}
`,
  ".github/actions/shout/action.yml": `name: shout
inputs:
  text:
    required: true
  times:
    default: "2"
runs:
  using: node20
  pre: pre.mjs
  main: main.mjs
  post: post.mjs
`,
  ".github/actions/shout/pre.mjs": `console.log("shout pre");\n`,
  ".github/actions/shout/main.mjs": `import { appendFileSync } from "node:fs";
const text = process.env.INPUT_TEXT.toUpperCase().repeat(Number(process.env.INPUT_TIMES));
console.log("shout main", text);
appendFileSync(process.env.GITHUB_OUTPUT, "greeting=" + text + "\\n");
`,
  ".github/actions/shout/post.mjs": `console.log("shout post");\n`,
};

const repos = tempRepos();
let daemon: TestDaemon;
let repo: string;
before(async () => {
  daemon = await startTestDaemon();
  repo = repos.make(files);
});
after(async () => {
  await daemon?.stop();
});

test("a composite action using a JavaScript action runs in order, inputs and outputs flowing, post at the job's end", async () => {
  const run = await quirectlJson(daemon.home, ["run", "--workflow", "ci", "--wait"], 0, { cwd: repo });
  assert.equal(run.state, "complete", JSON.stringify(run, null, 2));
  const steps = run.jobs[0].steps.map((s: { name: string; state: string }) => `${s.name}:${s.state}`);
  assert.deepEqual(steps, [
    // A step's default name is `Run` and its command's first line, cut at 60 characters, as GitHub shows it.
    'Run ./.github/actions/greet / Run echo "composite got ${{ inputs.who }}${{ inputs.punctuation…:complete',
    "Run ./.github/actions/greet / Run ./.github/actions/shout / pre:complete",
    "Run ./.github/actions/greet / Run ./.github/actions/shout:complete",
    'Run echo "composite said ${{ steps.greet.outputs.line }}":complete',
    'Run echo "main step done":complete',
    "Run ./.github/actions/greet / Run ./.github/actions/shout / post:complete",
  ]);
  const log = (await quirectl(daemon.home, ["logs", String(run.id)])).stdout;
  const order = [
    "composite got world!",
    "shout pre",
    "shout main HELLO WORLDHELLO WORLD",
    "composite said HELLO WORLDHELLO WORLD",
    "main step done",
    "shout post",
  ];
  let at = 0;
  for (const line of order) {
    const found = log.indexOf(line, at);
    assert.ok(found >= 0, `"${line}" not after position ${at} in:\n${log}`);
    at = found;
  }
});

test("a local action's unknown input or missing action.yml is refused before the run starts", async () => {
  const bad = repos.make({
    ...files,
    ".github/workflows/ci.yml": files[".github/workflows/ci.yml"].replace("who: world", "who: world\n          colour: red"),
  });
  const refused = await quirectl(daemon.home, ["run", "--workflow", "ci"], { cwd: bad });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /\.\/\.github\/actions\/greet has no input `colour`/);
});

test("another repository's action runs from quire's action cache once added, and is refused by name before", async () => {
  const source = repos.make({
    "action.yml": "name: hello\ninputs:\n  who: { default: you }\nruns:\n  using: node20\n  main: dist/index.js\n",
    "dist/index.js": 'console.log("kept action says hi to " + process.env.INPUT_WHO);\n',
  });
  execFileSync("git", ["-C", source, "tag", "v1"]);
  const user = repos.make({
    ".github/workflows/ci.yml":
      "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: someone/hello@v1\n        with: { who: quire }\n",
  });
  const refused = await quirectl(daemon.home, ["run", "--workflow", "ci"], { cwd: user });
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /`someone\/hello@v1` is not in quire's action cache.*quirectl action add someone\/hello@v1/);
  const added = await quirectlJson(daemon.home, ["action", "add", "someone/hello@v1", "--from", source]);
  assert.equal(added.action, "someone/hello@v1");
  const run = await quirectlJson(daemon.home, ["run", "--workflow", "ci", "--wait"], 0, { cwd: user });
  assert.equal(run.state, "complete", JSON.stringify(run));
  assert.match((await quirectl(daemon.home, ["logs", String(run.id)])).stdout, /kept action says hi to quire/);
  const bad = await quirectl(daemon.home, ["action", "add", "someone/hello@no-such-ref", "--from", source]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /could not fetch someone\/hello@no-such-ref/);
});
