// The desktop notification of a run's end: what it says, and the command each desktop shows it with, the
// text always an argument or a variable, never part of a script.
import assert from "node:assert/strict";
import { test } from "node:test";
import { notificationOf, notifyCommand } from "../../../src/ci/notify/desktop-notification.js";
import type { RunState } from "../../../src/ci/store/index.js";

const failed = {
  id: 7,
  pipeline: "ci",
  ref: "main",
  repo: "/r",
  state: "failed" as RunState,
  failureSummary: 'job test, step "npm test" exited 1:\n  3 passing\n  1 failing: <b>&</b>\n',
};

test("it names the run, the result and the first failure, with the text made inert", () => {
  assert.deepEqual(notificationOf(failed), {
    title: "quire: run 7 failed",
    body: 'ci on main\njob test, step "npm test" exited 1\n  1 failing: <b>&</b>',
    urgent: true,
  });
  assert.deepEqual(notificationOf({ ...failed, state: "complete" as RunState, failureSummary: null }), {
    title: "quire: run 7 passed",
    body: "ci on main",
    urgent: false,
  });
  const sneaky = notificationOf({ ...failed, pipeline: "c\u001b]0;owned\u0007i\u202e", ref: "" });
  assert.equal(sneaky.body.split("\n")[0], "c]0;ownedi on /r");
  assert.ok(notificationOf({ ...failed, failureSummary: `job a, step "b" exited 1:\n${"x".repeat(900)}` }).body.length <= 300);
});

test("each desktop's command carries the text as arguments or environment", () => {
  const n = notificationOf(failed);
  assert.deepEqual(notifyCommand(n, "linux"), {
    file: "notify-send",
    args: [
      "--app-name=quire",
      "--urgency=critical",
      "--",
      "quire: run 7 failed",
      'ci on main\njob test, step "npm test" exited 1\n  1 failing: &lt;b&gt;&amp;&lt;/b&gt;',
    ],
  });
  const mac = notifyCommand(n, "darwin")!;
  assert.equal(mac.file, "osascript");
  assert.deepEqual(mac.args.slice(-2), [n.title, n.body]);
  assert.ok(
    mac.args.filter((_, i) => i % 2 === 1 && i < 6).every((line) => !line.includes("quire: run")),
    "the text is no part of the script",
  );
  const windows = notifyCommand(n, "win32")!;
  assert.equal(windows.file, "powershell.exe");
  assert.deepEqual(windows.env, { QUIRE_NOTIFY_TITLE: n.title, QUIRE_NOTIFY_BODY: n.body });
  assert.ok(!windows.args.join(" ").includes("run 7"));
  assert.equal(notifyCommand(n, "aix"), undefined);
});
