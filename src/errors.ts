// The base of every error quire raises locally: a QuireError with a permanent `code`. Match on
// `err.code`, never on the message. Codes, once published, keep their meaning and are never reused. Wire
// refusal codes (Refused.Code) are a separate, on-the-wire vocabulary. Each layer's errors.ts extends it.

export class QuireError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}
