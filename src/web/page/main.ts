// The runs page's script: the list at /, a run at /runs/ID, moved between without reloading.
import { h, replace } from "./dom.js";
import { showList } from "./list-view.js";
import { showRun } from "./run-view.js";

const main = document.getElementById("main")!;
let leave: (() => void) | undefined;

function route(): void {
  leave?.();
  const match = /^\/runs\/([0-9]+)$/.exec(location.pathname);
  document.title = match ? `quire run #${match[1]}` : "quire runs";
  try {
    leave = match ? showRun(main, Number(match[1]), go) : showList(main, go);
  } catch (error) {
    replace(main, h("p", { class: "error" }, (error as Error).message));
  }
}

function go(path: string): void {
  history.pushState(null, "", path);
  route();
}

window.addEventListener("popstate", route);
route();
