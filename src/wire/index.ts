// quire/wire: the generated messages and the framing.

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
export * from "./protocol.js";
export * from "./errors.js";
