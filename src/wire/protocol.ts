// The protocol's numbers, in one place.

/** The first byte of every frame on the stream. */
export const FRAMING_VERSION = 1;
/** Frame.envelope_version. */
export const ENVELOPE_VERSION = 1;
/** The handshake protocol versions this build speaks (Hello.client_min/max_protocol are matched against these). */
export const PROTOCOL_MIN = 1;
export const PROTOCOL_MAX = 1;

/** `[u8 framing_version][u32 little-endian body length]`. */
export const FRAME_HEADER_BYTES = 5;
export const MAX_FRAME_BODY_BYTES = 16 * 1024 * 1024;
/** The first frame on a connection is the Hello (or an admin request): small by rule. */
export const MAX_FIRST_FRAME_BODY_BYTES = 64 * 1024;

/** Hello.client_capabilities / Negotiated.server_capabilities bit 0: the connection is handed off in place. */
export const CAP_HANDLE_PASSING = 1n;
