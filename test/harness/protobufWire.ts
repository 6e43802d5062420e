// Hand-made protobuf wire bytes for tests of the Check wire codec: tags, varints, length-delimited
// fields, and unknown fields of every wire type (varint, fixed64, length, group, fixed32), so a
// decoder can be shown to skip what it does not read and refuse what is malformed.
import fc from "fast-check";

export function varintBytes(value: bigint): Uint8Array {
  const out: number[] = [];
  let v = value;
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

export function tagBytes(field: number, wireType: number): Uint8Array {
  return varintBytes((BigInt(field) << 3n) | BigInt(wireType));
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

export function bytesField(field: number, payload: Uint8Array): Uint8Array {
  return concatBytes([tagBytes(field, 2), varintBytes(BigInt(payload.length)), payload]);
}

export function stringField(field: number, value: string): Uint8Array {
  return bytesField(field, Buffer.from(value, "utf8"));
}

// Numbers no message on the Check path uses (they stop at 13), up to the largest field number.
const unknownNumber = fc.oneof(fc.integer({ min: 100, max: 200 }), fc.integer({ min: 2 ** 28, max: 2 ** 29 - 1 }));

const scalarUnknown = fc.oneof(
  fc
    .tuple(unknownNumber, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
    .map(([f, v]) => concatBytes([tagBytes(f, 0), varintBytes(v)])),
  fc
    .tuple(unknownNumber, fc.uint8Array({ minLength: 8, maxLength: 8 }))
    .map(([f, b]) => concatBytes([tagBytes(f, 1), b])),
  fc.tuple(unknownNumber, fc.uint8Array({ maxLength: 24 })).map(([f, b]) => bytesField(f, b)),
  fc
    .tuple(unknownNumber, fc.uint8Array({ minLength: 4, maxLength: 4 }))
    .map(([f, b]) => concatBytes([tagBytes(f, 5), b])),
);

/** One unknown field of any wire type; a group holds scalar fields and may hold one more group. */
export const unknownField: fc.Arbitrary<Uint8Array> = fc.oneof(
  { depthSize: "small", withCrossShrink: true },
  scalarUnknown,
  fc
    .tuple(unknownNumber, fc.array(scalarUnknown, { maxLength: 3 }), fc.option(scalarUnknown, { nil: undefined }))
    .chain(([f, inner, nested]) =>
      fc.constant(
        concatBytes([
          tagBytes(f, 3),
          ...inner,
          ...(nested === undefined ? [] : [tagBytes(f - 1, 3), nested, tagBytes(f - 1, 4)]),
          tagBytes(f, 4),
        ]),
      ),
    ),
);
