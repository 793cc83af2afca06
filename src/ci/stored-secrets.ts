// The secrets a person set, as the run store keeps them: sealed under the SecretBox's key, opened only
// for the runs whose jobs name them.
import { SecretMissingError, SecretNameError, SecretValueError } from "./errors.js";
import { MAX_SECRET_BYTES, MIN_SECRET_BYTES, SECRET_NAME } from "./rules.js";
import type { SecretBox } from "./secrets.js";
import type { RunStore } from "./store/index.js";

export class StoredSecrets {
  readonly #store: RunStore;
  readonly #box: SecretBox;

  constructor(store: RunStore, box: SecretBox) {
    this.#store = store;
    this.#box = box;
  }

  set(name: string, value: string): void {
    if (!SECRET_NAME.test(name)) throw new SecretNameError(name);
    const bytes = Buffer.byteLength(value);
    if (bytes < MIN_SECRET_BYTES || bytes > MAX_SECRET_BYTES) throw new SecretValueError(name, bytes);
    const { nonce, box } = this.#box.seal(value);
    this.#store.putSecret(name, nonce, box, Date.now());
  }

  names(): string[] {
    return this.#store.secretNames();
  }

  remove(name: string): void {
    if (!this.#store.deleteSecret(name)) throw new SecretMissingError(name);
  }

  /** The values of `names` by name; throws SecretMissingError for the first that was never set. */
  open(names: Iterable<string>): Map<string, string> {
    const values = new Map<string, string>();
    for (const name of new Set(names)) {
      const sealed = this.#store.getSecret(name);
      if (!sealed) throw new SecretMissingError(name);
      values.set(name, this.#box.open(sealed.nonce, sealed.box));
    }
    return values;
  }
}
