// Secrets at rest: sealed with tweetnacl's secretbox under a key that lives only in QUIRE_HOME/secret.key.
import {
  constants,
  fstatSync,
  closeSync,
  linkSync,
  mkdirSync,
  rmSync,
  openSync,
  readSync,
  unlinkSync,
  writeSync,
  fsyncSync,
} from "node:fs";
import { dirname } from "node:path";
import nacl from "tweetnacl";
import { SecretDecryptError, SecretKeyError } from "./output/errors.js";

const KEY_BYTES = nacl.secretbox.keyLength;
const NONCE_BYTES = nacl.secretbox.nonceLength;
/** Permissions mean nothing to the key check on Windows, where files carry ACLs instead. */
const CHECK_MODE = process.platform !== "win32";

export class SecretBox {
  readonly keyFile: string;
  readonly #key: Uint8Array;

  private constructor(keyFile: string, key: Uint8Array) {
    this.keyFile = keyFile;
    this.#key = key;
  }

  /**
   * Reads the key from `keyFile`, creating a random one (0600, its directory 0700 when created here) if
   * there is none. Throws SecretKeyError (QUIRE_ERR_SECRET_KEY) for a key file that group or others may
   * read, that is not a regular file, or that is not exactly 32 bytes.
   */
  static open(keyFile: string): SecretBox {
    try {
      return new SecretBox(keyFile, readKey(keyFile));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    createKey(keyFile);
    return new SecretBox(keyFile, readKey(keyFile));
  }

  /** Seals `plain` under a fresh random nonce. */
  seal(plain: string): { nonce: Buffer; box: Buffer } {
    const nonce = nacl.randomBytes(NONCE_BYTES);
    const box = nacl.secretbox(Buffer.from(plain, "utf8"), nonce, this.#key);
    return { nonce: Buffer.from(nonce), box: Buffer.from(box) };
  }

  /** Throws SecretDecryptError (QUIRE_ERR_SECRET_DECRYPT) when the box does not open with this key. */
  open(nonce: Uint8Array, box: Uint8Array): string {
    const plain = nonce.length === NONCE_BYTES ? nacl.secretbox.open(box, nonce, this.#key) : null;
    if (!plain) throw new SecretDecryptError(this.keyFile);
    return Buffer.from(plain).toString("utf8");
  }
}

/** Throws the ENOENT as is (the caller creates the key), anything else as SecretKeyError. */
function readKey(keyFile: string): Uint8Array {
  let fd: number;
  try {
    // O_NOFOLLOW: a symlink planted at the key's path is refused, not followed.
    fd = openSync(keyFile, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") throw cause;
    throw new SecretKeyError(
      keyFile,
      `cannot be opened (${(cause as Error).message})`,
      "make it a regular file quire's user can read",
      cause,
    );
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile())
      throw new SecretKeyError(
        keyFile,
        "is not a regular file",
        "remove it; quire creates a new key (secrets stored with the old one must be set again)",
      );
    if (CHECK_MODE && (stat.mode & 0o077) !== 0) {
      const mode = (stat.mode & 0o777).toString(8).padStart(4, "0");
      throw new SecretKeyError(
        keyFile,
        `has mode ${mode}, so other users may read it`,
        `run \`chmod 600 ${keyFile}\` (and consider setting the secrets again: they may have been read)`,
      );
    }
    if (stat.size !== KEY_BYTES) {
      throw new SecretKeyError(
        keyFile,
        `is ${stat.size} bytes, not a ${KEY_BYTES}-byte key`,
        "restore it from a backup, or remove it so quire creates a new key (secrets stored with the old one must be set again)",
      );
    }
    const key = new Uint8Array(KEY_BYTES);
    for (let done = 0; done < KEY_BYTES; ) {
      const read = readSync(fd, key, done, KEY_BYTES - done, done);
      if (read === 0) throw new SecretKeyError(keyFile, "shrank while it was read", "check what else writes to it");
      done += read;
    }
    return key;
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a fresh key to a temporary file and links it into place: a crash never leaves a short key behind,
 * and when two processes race the first link wins and both read the same key.
 */
function createKey(keyFile: string): void {
  const temporary = `${keyFile}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
    rmSync(temporary, { force: true }); // left by a crashed process that had our pid
    const fd = openSync(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      writeSync(fd, nacl.randomBytes(KEY_BYTES));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      linkSync(temporary, keyFile);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== "EEXIST") throw cause;
    }
  } catch (cause) {
    throw new SecretKeyError(
      keyFile,
      `could not be created (${(cause as Error).message})`,
      "check that its directory is writable by quire's user",
      cause,
    );
  } finally {
    try {
      unlinkSync(temporary);
    } catch {}
  }
}
