// Aho-Corasick over bytes: every pattern found in one pass, whatever the patterns look like (a 100 KB run
// of one byte costs what a short word costs), so redaction is linear in the output.

/**
 * The trie of the patterns with failure links. A state is the longest suffix of the bytes read so far
 * that begins some pattern; `depth` is its length. The root (0) has a full row of 256 transitions; a state
 * with one child (most of them, in a trie of long secrets) stores that child alone, one with more a row of
 * its own, so memory stays a few words per pattern byte.
 */
export class PatternAutomaton {
  /** Per state: its length, its failure link, and the longest pattern that ends at it (0 if none). */
  readonly #depth: Int32Array;
  readonly #fail: Int32Array;
  readonly longest: Int32Array;
  /**
   * Per state: how many of the last bytes could still begin an occurrence (the longest suffix that is a
   * proper prefix of a pattern): a pattern just matched in full that nothing extends holds nothing back.
   */
  readonly hold: Int32Array;
  /** Per state: its row in #rows, or -1 when it has at most one child (#onlyByte, #onlyChild; -1: none). */
  readonly #rowOf: Int32Array;
  readonly #onlyByte: Int32Array;
  readonly #onlyChild: Int32Array;
  readonly #rows: Int32Array;
  /** The root's row: every byte's next state from the root (0 stays at the root). */
  readonly root: Int32Array;
  readonly maxLength: number;

  constructor(patterns: readonly Buffer[]) {
    // The trie, with children in maps while it is built.
    const children: Map<number, number>[] = [new Map()];
    const depth: number[] = [0];
    const longest: number[] = [0];
    let maxLength = 0;
    for (const pattern of patterns) {
      let state = 0;
      for (const byte of pattern) {
        let next = children[state]!.get(byte);
        if (next === undefined) {
          next = children.length;
          children.push(new Map());
          depth.push(depth[state]! + 1);
          longest.push(0);
          children[state]!.set(byte, next);
        }
        state = next;
      }
      longest[state] = pattern.length;
      maxLength = Math.max(maxLength, pattern.length);
    }
    const count = children.length;
    this.maxLength = maxLength;
    this.#depth = Int32Array.from(depth);
    this.longest = Int32Array.from(longest);
    this.#fail = new Int32Array(count);
    this.hold = new Int32Array(count);
    this.#rowOf = new Int32Array(count).fill(-1);
    this.#onlyByte = new Int32Array(count).fill(-1);
    this.#onlyChild = new Int32Array(count).fill(-1);
    let rows = 1;
    for (let state = 1; state < count; state++) if (children[state]!.size > 1) this.#rowOf[state] = rows++;
    this.#rows = new Int32Array(rows * 256);
    this.#rowOf[0] = 0;
    this.root = this.#rows.subarray(0, 256);
    for (let state = 1; state < count; state++) {
      const row = this.#rowOf[state]!;
      for (const [byte, child] of children[state]!) {
        if (row >= 0) this.#rows[row * 256 + byte] = child;
        else {
          this.#onlyByte[state] = byte;
          this.#onlyChild[state] = child;
        }
      }
    }
    // Failure links breadth first, so a state's link (shallower) is complete before it is used; the root's
    // row is completed as it goes (a byte that begins no pattern stays at the root, 0 already).
    const queue: number[] = [];
    for (const [byte, child] of children[0]!) {
      this.root[byte] = child;
      this.hold[child] = children[child]!.size > 0 ? 1 : 0;
      queue.push(child);
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head]!;
      for (const [byte, child] of children[state]!) {
        const fail = this.next(this.#fail[state]!, byte);
        this.#fail[child] = fail;
        if (this.longest[child] === 0) this.longest[child] = this.longest[fail]!;
        this.hold[child] = children[child]!.size > 0 ? this.#depth[child]! : this.hold[fail]!;
        queue.push(child);
      }
    }
  }

  /** The state after reading `byte` in `state`. */
  next(state: number, byte: number): number {
    for (;;) {
      if (state === 0) return this.root[byte]!;
      const row = this.#rowOf[state]!;
      if (row >= 0) {
        const child = this.#rows[row * 256 + byte]!;
        if (child !== 0) return child;
      } else if (this.#onlyByte[state] === byte) {
        return this.#onlyChild[state]!;
      }
      state = this.#fail[state]!;
    }
  }
}
