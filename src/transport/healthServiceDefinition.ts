// grpc.health.v1 Health as grpc-js serves it, with its two one-field messages read and written
// here instead of through proto-loader (so a serving process loads no .proto file at all):
// HealthCheckRequest { string service = 1 }, HealthCheckResponse { ServingStatus status = 1 }.
import type { ServiceDefinition } from "@grpc/grpc-js";

export interface HealthCheckRequest {
  readonly service: string;
}

export interface HealthCheckResponse {
  readonly status: number;
}

/** HealthCheckRequest bytes → its service name; unknown fields skipped, malformed bytes thrown (grpc-js answers INTERNAL). */
export function decodeHealthCheckRequest(bytes: Buffer): HealthCheckRequest {
  let pos = 0;
  let service = "";
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (pos >= bytes.length) throw new Error("truncated varint");
      const byte = bytes[pos++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    throw new Error("varint longer than 10 bytes");
  };
  const length = (): number => {
    const n = varint();
    if (n > bytes.length - pos) throw new Error("length past the end of the message");
    return n;
  };
  const skip = (tag: number, depth: number): void => {
    const wireType = tag % 8;
    if (wireType === 0) varint();
    else if (wireType === 1 || wireType === 5) {
      pos += wireType === 1 ? 8 : 4;
      if (pos > bytes.length) throw new Error("truncated fixed field");
    } else if (wireType === 2) {
      const n = length(); // read before pos: `pos += length()` would add to the pos from before the length
      pos += n;
    } else if (wireType === 3 && depth < 16) {
      // A group (proto2): fields up to the end-group tag of the same field number.
      for (let inner = varint(); inner !== tag + 1; inner = varint()) skip(inner, depth + 1);
    } else throw new Error("a wire type a health request cannot hold");
  };
  while (pos < bytes.length) {
    const tag = varint();
    if (tag < 8) throw new Error("field number 0");
    if (tag === 0x0a) {
      const n = length();
      service = bytes.toString("utf8", pos, pos + n);
      pos += n;
    } else skip(tag, 0);
  }
  return { service };
}

/** HealthCheckResponse { status }: the tag and one varint byte (statuses are 0-3). */
export function encodeHealthCheckResponse(response: HealthCheckResponse): Buffer {
  return Buffer.from([0x08, response.status]);
}

function serverOnly(): never {
  throw new Error("the Health service definition has no client side");
}

const method = (name: string, responseStream: boolean) => ({
  path: `/grpc.health.v1.Health/${name}`,
  requestStream: false,
  responseStream,
  requestDeserialize: decodeHealthCheckRequest,
  responseSerialize: encodeHealthCheckResponse,
  requestSerialize: serverOnly,
  responseDeserialize: serverOnly,
});

export const HEALTH_SERVICE_DEFINITION: ServiceDefinition = {
  Check: method("Check", false),
  Watch: method("Watch", true),
};
