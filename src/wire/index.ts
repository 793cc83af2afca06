// quire/wire: the generated messages and the framing.

export { QuireError } from "../errors.js";
export { Frame, Frame_Kind, Frame_PayloadEncoding } from "../gen/quire/v1/frame.js";
export { Hello, HelloReply, Negotiated, Refused, Refused_Code } from "../gen/quire/v1/hello.js";
export { HandoffOffer, HandoffAck } from "../gen/quire/v1/handoff.js";
export {
  AdminRequest,
  AdminRequest_Op,
  AdminResponse,
  BackendIdentity,
  BackendStatus,
  DaemonStatus,
} from "../gen/quire/v1/admin.js";
export { encodeFramed, frameBody, newFrame, validateFrame, FrameDecoder, type FrameDecoderOptions } from "./framing.js";
export { Lane, isKnownLane, laneName, type LaneId } from "./lanes.js";
export { CiErrorCode, PtyErrorCode } from "./error-codes.js";
export {
  FRAMING_VERSION,
  ENVELOPE_VERSION,
  PROTOCOL_MIN,
  PROTOCOL_MAX,
  FRAME_HEADER_BYTES,
  MAX_FRAME_BODY_BYTES,
  MAX_FIRST_FRAME_BODY_BYTES,
  CAP_HANDLE_PASSING,
} from "./protocol.js";
export {
  WireError,
  FramingVersionError,
  FrameTooLargeError,
  FrameTruncatedError,
  FrameMalformedError,
  EnvelopeVersionError,
  FrameKindError,
  UnknownLaneError,
  PayloadEncodingError,
  PayloadMalformedError,
} from "./errors.js";
