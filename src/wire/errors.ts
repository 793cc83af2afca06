// The wire layer's errors: a byte stream or a frame that breaks the wire rules.
import { QuireError } from "../errors.js";

export { QuireError };

/** A byte stream or a frame that breaks the wire rules (ARCHITECTURE.md, "The wire"). */
export abstract class WireError extends QuireError {}

export class FramingVersionError extends WireError {
  constructor(readonly version: number) {
    super(
      "QUIRE_ERR_FRAMING_VERSION",
      `frame starts with framing version ${version}; only 1 is spoken (is the peer speaking quire's protocol?)`,
    );
  }
}

export class FrameTooLargeError extends WireError {
  constructor(
    readonly length: number,
    readonly limit: number,
    first: boolean,
  ) {
    super(
      "QUIRE_ERR_FRAME_TOO_LARGE",
      `${first ? "first frame" : "frame"} body of ${length} bytes exceeds the ${limit}-byte limit; split the payload or stream it as events`,
    );
  }
}

export class FrameTruncatedError extends WireError {
  constructor(
    readonly have: number,
    readonly need: number,
  ) {
    super("QUIRE_ERR_FRAME_TRUNCATED", `stream ended inside a frame: ${have} of ${need} bytes arrived`);
  }
}

export class FrameMalformedError extends WireError {
  constructor(cause: unknown) {
    super("QUIRE_ERR_FRAME_MALFORMED", `frame body is not a valid protobuf Frame: ${(cause as Error)?.message ?? cause}`, { cause });
  }
}

export class EnvelopeVersionError extends WireError {
  constructor(readonly version: number) {
    super("QUIRE_ERR_ENVELOPE_VERSION", `envelope_version ${version} is not supported; only 1 is spoken`);
  }
}

export class FrameKindError extends WireError {
  constructor(readonly kind: number) {
    super("QUIRE_ERR_FRAME_KIND", `frame kind ${kind} is unknown; expected REQUEST, RESPONSE, EVENT or CANCEL`);
  }
}

export class UnknownLaneError extends WireError {
  constructor(readonly lane: number) {
    super("QUIRE_ERR_UNKNOWN_LANE", `payload_protocol 0x${lane.toString(16).padStart(4, "0")} is not a lane this peer serves`);
  }
}

export class PayloadEncodingError extends WireError {
  constructor(readonly encoding: number) {
    super("QUIRE_ERR_PAYLOAD_ENCODING", `payload_encoding ${encoding} is not supported here; send payloads uncompressed (NONE)`);
  }
}

export class PayloadMalformedError extends WireError {
  constructor(what: string, cause: unknown) {
    super("QUIRE_ERR_PAYLOAD_MALFORMED", `payload is not a valid ${what}: ${(cause as Error)?.message ?? cause}`, { cause });
  }
}

/** Two lanes of the registry share an id: a mistake in src/wire/lanes.ts, found when it loads. */
export class LaneDuplicateError extends WireError {
  constructor(
    readonly lane: number,
    first: string,
    second: string,
  ) {
    super("QUIRE_ERR_LANE_DUPLICATE", `lane 0x${lane.toString(16)} allocated twice (${first}, ${second}); give each lane its own id`);
  }
}
