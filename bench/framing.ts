// Framing encode/decode frames per second vs protobufjs on the same Frames. Each side is timed in several
// alternating rounds by the process's CPU time (a busy machine disturbs it less than the wall clock); the
// figures are the medians.
//
// encode: ours writes the framed bytes (header and body) of each frame; protobufjs encodes each body.
// decode: both read the same stream of framed 64-byte-payload frames, held in one buffer. Ours is the
// FrameDecoder fed that buffer in 64 KiB chunks, as a socket delivers them: it finds each frame, checks the
// header and limits, decodes the body and validates the envelope. protobufjs decodes each body in place from
// the same buffer (one Reader over it, the 5-byte header skipped by hand, no checks). Both payloads are
// views of the buffer; the second decode row is ours with detachSmallPayloads (as the client decodes:
// each small payload copied out of its chunk) against the same protobufjs figure.
import protobuf from "protobufjs";
import { Frame_Kind, type Frame } from "../src/gen/quire/v1/frame.js";
import { encodeFramed, FrameDecoder, newFrame, type FrameDecoderOptions } from "../src/wire/framing.js";
import { WireError } from "../src/wire/errors.js";
import { Lane } from "../src/wire/lanes.js";
import { FRAME_HEADER_BYTES } from "../src/wire/protocol.js";
import { reflectedType } from "../test/helpers/protobufjs.js";
import { heading, report } from "./lib/report.js";

const ROUNDS = 5;

/** Frames per second of each side: medians over ROUNDS alternating timed runs, after one warm-up each. */
function rates(count: number, ours: () => void, theirs: () => void): [number, number] {
  ours();
  theirs();
  const a: number[] = [];
  const b: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    a.push(rate(count, ours));
    b.push(rate(count, theirs));
  }
  return [median(a), median(b)];
}

function rate(count: number, run: () => void): number {
  const start = process.cpuUsage();
  run();
  const used = process.cpuUsage(start);
  return count / ((used.user + used.system) / 1e6);
}

function median(values: number[]): number {
  return [...values].sort((x, y) => x - y)[values.length >> 1]!;
}

export function benchFraming(count: number): void {
  heading(`framing (${count} frames, 64-byte payload; medians of ${ROUNDS} rounds)`);
  const frame: Frame = newFrame({
    kind: Frame_Kind.RESPONSE,
    payloadProtocol: Lane.ECHO,
    requestId: 123456n,
    payload: Buffer.alloc(64, 1),
  });
  const type = reflectedType("Frame");
  const message = type.fromObject({ ...frame, requestId: "123456", deadlineUnixMs: "0" });

  const [quireEncode, pbEncode] = rates(
    count,
    () => {
      for (let i = 0; i < count; i++) encodeFramed(frame);
    },
    () => {
      for (let i = 0; i < count; i++) type.encode(message).finish();
    },
  );
  report({
    bench: "framing",
    metric: "encode frames/s",
    value: quireEncode,
    unit: "frames/s",
    baseline: { name: "protobufjs", value: pbEncode },
  });

  const stream = Buffer.concat(Array.from({ length: count }, () => encodeFramed(frame)));
  let sink: unknown;
  const ours = (options: FrameDecoderOptions) => () => {
    const decoder = new FrameDecoder(options);
    for (let at = 0; at < stream.length; at += 65536) {
      decoder.push(stream.subarray(at, at + 65536));
      for (let f = decoder.next(); f; f = decoder.next()) {
        if (f instanceof WireError) throw f;
        sink = f;
      }
    }
  };
  const theirs = () => {
    const reader = protobuf.Reader.create(stream);
    while (reader.pos < stream.length) {
      const length = stream.readUInt32LE(reader.pos + 1);
      reader.pos += FRAME_HEADER_BYTES;
      sink = type.decode(reader, length);
    }
  };
  const [quireDecode, pbDecode] = rates(count, ours({}), theirs);
  report({
    bench: "framing",
    metric: "decode frames/s",
    value: quireDecode,
    unit: "frames/s",
    baseline: { name: "protobufjs", value: pbDecode },
  });
  const [quireDetached, pbDecode2] = rates(count, ours({ detachSmallPayloads: true }), theirs);
  report({
    bench: "framing",
    metric: "decode, small payloads copied",
    value: quireDetached,
    unit: "frames/s",
    baseline: { name: "protobufjs", value: pbDecode2 },
  });
  if (sink === undefined) throw new Error("nothing decoded");
}
