/** "DE AD be ef" -> bytes. */
export function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ""), "hex");
}

/** The ASCII bytes of a string, as hex, for writing golden vectors by hand. */
export function ascii(text: string): string {
  return Buffer.from(text, "ascii").toString("hex");
}
