// Framing encode/decode frames per second vs protobufjs encoding and decoding the same Frame alone.
import { Frame, Frame_Kind } from "../src/gen/quire/v1/frame.js";
import { encodeFramed, FrameDecoder, newFrame } from "../src/wire/framing.js";
import { WireError } from "../src/wire/errors.js";
import { Lane } from "../src/wire/lanes.js";
import { reflectedType } from "../test/helpers/protobufjs.js";
import { heading, report } from "./lib/report.js";

function rate(n: number, run: () => void): number {
  run(); // warm up
  const start = performance.now();
  run();
  return n / ((performance.now() - start) / 1000);
}

export function benchFraming(count: number): void {
  heading(`framing (${count} frames, 64-byte payload)`);
  const frame: Frame = newFrame({ kind: Frame_Kind.RESPONSE, payloadProtocol: Lane.ECHO, requestId: 123456n, payload: Buffer.alloc(64, 1) });
  const type = reflectedType("Frame");
  const message = type.fromObject({ ...frame, requestId: "123456", deadlineUnixMs: "0" });

  const quireEncode = rate(count, () => {
    for (let i = 0; i < count; i++) encodeFramed(frame);
  });
  const pbEncode = rate(count, () => {
    for (let i = 0; i < count; i++) type.encode(message).finish();
  });
  report({ bench: "framing", metric: "encode frames/s", value: quireEncode, unit: "frames/s", baseline: { name: "protobufjs", value: pbEncode } });

  const stream = Buffer.concat(Array.from({ length: count }, () => encodeFramed(frame)));
  const body = Frame.encode(frame).finish();
  const quireDecode = rate(count, () => {
    const decoder = new FrameDecoder();
    // Arrive as a socket would deliver them: 64 KiB chunks.
    for (let at = 0; at < stream.length; at += 65536) {
      decoder.push(stream.subarray(at, at + 65536));
      for (let f = decoder.next(); f; f = decoder.next()) if (f instanceof WireError) throw f;
    }
  });
  const pbDecode = rate(count, () => {
    for (let i = 0; i < count; i++) type.decode(body);
  });
  report({ bench: "framing", metric: "decode frames/s", value: quireDecode, unit: "frames/s", baseline: { name: "protobufjs", value: pbDecode } });
}
