// A step's log in a terminal (xterm.js), from the bytes the PTY gave. A big log opens at its end: the
// last TAIL bytes first, earlier parts fetched by byte range when the view is scrolled to its top (the
// terminal holds at most WINDOW bytes, and scrollback is bounded). A running step's bytes are followed
// and written once per animation frame; a step printing faster than the tab can draw has what it is
// behind by dropped ("catching up"), so the tab stays responsive.
import type { ITerminalInitOnlyOptions, ITerminalOptions, Terminal } from "@xterm/xterm";
import { h, replace } from "./dom.js";

/** The end of a log shown first: a screenful many times over, and little for xterm to parse. */
const TAIL = 256 * 1024;
/** Each earlier part fetched as the view is scrolled up, and the most the terminal holds. */
const CHUNK = 512 * 1024;
const WINDOW = 4 * CHUNK;
const SCROLLBACK = 20_000;
/** At most this much is written to the terminal per frame. */
const FRAME_BYTES = 256 * 1024;
/** Behind by more than this, the queued bytes are dropped and the view catches up. */
const MAX_BEHIND = 4 * 1024 * 1024;

const XTERM = "/vendor/xterm.mjs";
let xterm: Promise<typeof import("@xterm/xterm")> | undefined;

export interface StepRef {
  run: number;
  job: string;
  step: number;
}

export class LogView {
  readonly element: HTMLElement;
  readonly #ref: StepRef;
  readonly #notice = h("span", { class: "notice" });
  readonly #screen = h("div", { class: "log" });
  #term: Terminal | undefined;
  /** The bytes the terminal shows: [from, to) of the log. */
  #from = 0;
  #to = 0;
  /** What the window holds, kept to rewrite it when an earlier part comes in. */
  #bytes: Uint8Array = new Uint8Array(0);
  #loadingEarlier = false;
  /** While the terminal is written anew, the scrolling that makes is not the person's. */
  #rewriting = false;
  #follow: AbortController | undefined;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #skipped = 0;
  #writing = false;
  #frame = 0;
  #closed = false;

  constructor(ref: StepRef, title: string) {
    this.#ref = ref;
    const earlier = h("button", { type: "button", title: "Load the part of the log before this" }, "Earlier");
    earlier.addEventListener("click", () => void this.#loadEarlier());
    const latest = h("button", { type: "button", title: "Show the end of the log, and follow it while the step runs" }, "Latest");
    latest.addEventListener("click", () => void this.#showEnd());
    this.element = h(
      "section",
      { class: "log-panel" },
      h("div", { class: "log-head" }, h("h2", {}, title), h("span", {}, this.#notice, " ", earlier, " ", latest)),
      this.#screen,
    );
    this.#state("loading");
  }

  async open(live: boolean): Promise<void> {
    const { Terminal } = await (xterm ??= import(XTERM) as Promise<typeof import("@xterm/xterm")>);
    if (this.#closed) return;
    const options: ITerminalOptions & ITerminalInitOnlyOptions = {
      scrollback: SCROLLBACK,
      disableStdin: true,
      cursorBlink: false,
      cursorStyle: "bar",
      fontSize: 13,
      cols: columnsFor(this.#screen),
      rows: 30,
      // The page shows a step's output; it does not act on it (links, titles, clipboard: see neuter()).
      linkHandler: null,
    };
    const term = new Terminal(options);
    neuter(term);
    term.open(this.#screen);
    this.#term = term;
    // Scrolled to the top by the person (not by the terminal filling while a part is written): the part before.
    term.onScroll(() => {
      if (!this.#rewriting && term.buffer.active.viewportY === 0) void this.#loadEarlier();
    });
    await this.#showEnd(live);
  }

  /** The last TAIL bytes of the log, then its bytes as they come while the step runs. */
  async #showEnd(live = false): Promise<void> {
    const term = this.#term;
    if (!term) return;
    this.#stopFollowing();
    this.#state("loading");
    const tail = await this.#fetch(`tail=${TAIL}`);
    if (this.#closed) return;
    this.#from = tail.from;
    this.#to = tail.from + tail.bytes.length;
    this.#bytes = tail.bytes;
    this.#rewriting = true;
    term.reset();
    await write(term, tail.from > 0 ? fromLineStart(tail.bytes) : tail.bytes);
    term.scrollToBottom();
    this.#rewriting = false;
    this.#state("ready");
    if (live || tail.live) this.#startFollowing();
  }

  /** The step ended: its last bytes come with the follow, which ends by itself. */
  close(): void {
    this.#closed = true;
    this.#follow?.abort();
    cancelAnimationFrame(this.#frame);
    this.#term?.dispose();
  }

  #state(state: "loading" | "ready" | "live" | "catching-up"): void {
    this.element.dataset.state = state;
    this.element.dataset.from = String(this.#from);
    this.element.dataset.to = String(this.#to);
    this.#notice.textContent = state === "catching-up" ? "catching up…" : state === "live" ? "live" : "";
  }

  async #fetch(range: string): Promise<{ bytes: Uint8Array; from: number; size: number; live: boolean }> {
    const { run, job, step } = this.#ref;
    const response = await fetch(`/api/runs/${run}/log?job=${encodeURIComponent(job)}&step=${step}&${range}`, {
      credentials: "same-origin",
    });
    if (!response.ok) throw new Error(`the log could not be read: ${response.status}`);
    return {
      bytes: new Uint8Array(await response.arrayBuffer()),
      from: Number(response.headers.get("X-Log-From")),
      size: Number(response.headers.get("X-Log-Size")),
      live: response.headers.get("X-Log-Live") === "true",
    };
  }

  /** The CHUNK before the window, then the window rewritten as [that, the first part of what it held). */
  async #loadEarlier(): Promise<void> {
    const term = this.#term;
    if (!term || this.#from === 0 || this.#loadingEarlier) return;
    this.#loadingEarlier = true;
    this.#state("loading");
    try {
      this.#stopFollowing();
      const earlier = await this.#fetch(`from=${Math.max(0, this.#from - CHUNK)}&to=${this.#from}`);
      if (this.#closed) return;
      const kept = this.#bytes.subarray(0, Math.max(0, WINDOW - earlier.bytes.length));
      const shown = concat([earlier.bytes, kept]);
      const head = earlier.from > 0 ? fromLineStart(earlier.bytes) : earlier.bytes;
      this.#from = earlier.from;
      this.#to = earlier.from + shown.length;
      this.#bytes = shown;
      this.#rewriting = true;
      term.reset();
      await write(term, earlier.from > 0 ? fromLineStart(shown) : shown);
      // Where the view was: the first line of what it showed before.
      term.scrollToLine(Math.max(0, lines(head) - 1));
    } finally {
      this.#rewriting = false;
      this.#loadingEarlier = false;
      this.#state("ready");
    }
  }

  #startFollowing(): void {
    const abort = new AbortController();
    this.#follow = abort;
    this.#state("live");
    void this.#read(abort.signal).catch(() => undefined);
  }

  #stopFollowing(): void {
    this.#follow?.abort();
    this.#follow = undefined;
    this.#queue = [];
    this.#queued = 0;
  }

  async #read(signal: AbortSignal): Promise<void> {
    const { run, job, step } = this.#ref;
    const response = await fetch(`/api/runs/${run}/log?job=${encodeURIComponent(job)}&step=${step}&follow=1&from=${this.#to}`, {
      credentials: "same-origin",
      signal,
    });
    const reader = response.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal.aborted) break;
      this.#to += value.length;
      if (this.#queued + value.length > MAX_BEHIND) {
        // What waited is dropped, never the newest bytes: they may be the log's last (a step's end is
        // what a person following it waits for), and nothing would bring them again.
        const newest = value.length > MAX_BEHIND ? value.subarray(value.length - MAX_BEHIND) : value;
        this.#skipped += this.#queued + value.length - newest.length;
        this.#queue = [newest];
        this.#queued = newest.length;
        this.#state("catching-up");
      } else {
        this.#queue.push(value);
        this.#queued += value.length;
      }
      this.#schedule();
    }
    if (!signal.aborted) {
      this.#follow = undefined;
      this.#schedule();
    }
  }

  #schedule(): void {
    if (this.#frame || this.#writing) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      void this.#drawFrame();
    });
  }

  /** One frame's worth of what is queued, then the next frame once xterm has taken it in. */
  async #drawFrame(): Promise<void> {
    const term = this.#term;
    if (!term || this.#closed) return;
    this.#writing = true;
    if (this.#skipped > 0) {
      const note = `\r\n\x1b[33m[${this.#skipped} bytes not shown: the log grew faster than it could be drawn]\x1b[0m\r\n`;
      this.#skipped = 0;
      await write(term, new TextEncoder().encode(note));
    }
    const parts: Uint8Array[] = [];
    let size = 0;
    while (this.#queue.length && size < FRAME_BYTES) {
      const next = this.#queue.shift()!;
      parts.push(next);
      size += next.length;
    }
    this.#queued -= size;
    if (size) {
      const bytes = concat(parts);
      await write(term, bytes);
      this.#bytes = this.#bytes.length + bytes.length > WINDOW ? bytes : concat([this.#bytes, bytes]);
    }
    this.#writing = false;
    if (this.#queue.length) this.#schedule();
    else this.#state(this.#follow ? "live" : "ready");
  }
}

/**
 * xterm.js acts on some sequences a program prints: OSC 8 makes a link that opens a URL when clicked,
 * OSC 0/1/2 set a title, OSC 52 the clipboard. A log is somebody's output, so each is swallowed here
 * (the text of a link still shows, as text).
 */
function neuter(term: Terminal): void {
  for (const code of [0, 1, 2, 7, 8, 52, 1337]) term.parser.registerOscHandler(code, () => true);
}

function write(term: Terminal, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => term.write(bytes, resolve));
}

/** A part that starts mid-line starts at its next line, so the view does not begin with half of one. */
function fromLineStart(bytes: Uint8Array): Uint8Array {
  const nl = bytes.indexOf(10);
  return nl >= 0 ? bytes.subarray(nl + 1) : bytes;
}

function lines(bytes: Uint8Array): number {
  let n = 0;
  for (const b of bytes) if (b === 10) n++;
  return n;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** As many columns as fit the element at the terminal's font (measured once). */
function columnsFor(element: HTMLElement): number {
  const probe = h("span", { class: "xterm", style: undefined }, "0123456789");
  probe.style.font = "13px monospace";
  probe.style.position = "absolute";
  probe.style.visibility = "hidden";
  document.body.append(probe);
  const width = probe.getBoundingClientRect().width / 10 || 8;
  probe.remove();
  return Math.max(40, Math.floor((element.clientWidth - 24) / width));
}

export function emptyLog(element: HTMLElement, text: string): void {
  replace(element, h("p", { class: "muted" }, text));
}
