// protobufjs reads proto/ on its own, by reflection: an independent check of the generated code.
import protobuf from "protobufjs";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { protoDir } from "./paths.js";

const dir = join(protoDir, "quire", "v1");

export const reflected: protobuf.Root = new protobuf.Root().loadSync(
  readdirSync(dir)
    .filter((f) => f.endsWith(".proto"))
    .map((f) => join(dir, f)),
  { keepCase: false },
);

export function reflectedType(name: string): protobuf.Type {
  return reflected.lookupType(`quire.v1.${name}`);
}

/** Plain-object view of a protobufjs message: 64-bit numbers as bigint, bytes as Buffer, defaults filled. */
export function toPlain(type: protobuf.Type, message: protobuf.Message): Record<string, unknown> {
  const object = type.toObject(message, { longs: String, bytes: Buffer, defaults: true, enums: Number });
  return convertLongs(type, object);
}

function convertLongs(type: protobuf.Type, object: Record<string, unknown>): Record<string, unknown> {
  for (const field of type.fieldsArray) {
    const value = object[field.name];
    if (/64$/.test(field.type) && typeof value === "string") object[field.name] = BigInt(value);
    else if (field.resolvedType instanceof protobuf.Type && value && !field.map) {
      object[field.name] = field.repeated
        ? (value as Record<string, unknown>[]).map((v) => convertLongs(field.resolvedType as protobuf.Type, v))
        : convertLongs(field.resolvedType, value as Record<string, unknown>);
    }
  }
  return object;
}
