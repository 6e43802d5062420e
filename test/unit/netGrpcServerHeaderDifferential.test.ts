// Differential over request header blocks: a well-formed Check request whose fields are dropped,
// repeated, rewritten or joined by others (pseudo-headers, connection-specific fields, content-length,
// names and values with any byte, trailers), written as raw HTTP/2 to the grpc-js server (node:http2's
// nghttp2 underneath) and to the node:net server. Whatever grpc-js refuses before its handler, the
// node:net server must refuse too: it never decides (and so never allows) a request the reference
// would not have let through. The net server may refuse more (it holds to RFC 9113 where nghttp2 only
// ignores a field).
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/Decision.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import { startGrpcServer, type GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { startNetGrpcServer } from "../../src/transport/startNetGrpcServer.ts";
import { propertyRuns } from "../harness/propertyRuns.ts";
import { grpcFrame } from "../harness/rawGrpcCall.ts";
import {
  END_HEADERS,
  END_STREAM,
  exchangeAnswered,
  type Field,
  frame,
  FrameType,
  literalBlock,
} from "../harness/rawH2Exchange.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";

const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const { checkRequest } = loadUpstreamExtAuthzTypes();
const MESSAGE = grpcFrame(checkRequest.encode(checkRequest.fromObject({})).finish());

const REQUEST: readonly Field[] = [
  [":method", "POST"],
  [":scheme", "http"],
  [":path", CHECK],
  [":authority", "portcullis"],
  ["content-type", "application/grpc"],
  ["te", "trailers"],
];

const name = fc.oneof(
  fc.constantFrom(
    ":method",
    ":scheme",
    ":path",
    ":authority",
    ":status",
    ":protocol",
    "host",
    "content-length",
    "content-type",
    "te",
    "connection",
    "transfer-encoding",
    "grpc-timeout",
    "grpc-encoding",
    "x-a",
    "X-A",
    "",
    "a b",
    "a:b",
    "a\u00e9",
  ),
  fc.string({ unit: fc.constantFrom(..."az09-_:A \t\u0000\u007f\u00ff"), maxLength: 8 }),
);
const value = fc.oneof(
  fc.constantFrom("POST", "http", "https", CHECK, "portcullis", "application/grpc", "trailers", "", " ", "10m"),
  fc.constantFrom(String(MESSAGE.length), String(MESSAGE.length + 1), "0", "1", "x"),
  fc.string({ unit: fc.constantFrom(..."az09/.:@[]%-+ \t\r\n\u0000\u007f\u00e9"), maxLength: 12 }),
);
const field = fc.tuple(name, value);

/** A mutation of the well-formed request's fields. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("repeat" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("rewrite" as const), at: fc.nat(), value }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), field }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(fields: readonly Field[], change: Mutation): Field[] {
  const out = [...fields];
  const at = out.length === 0 ? 0 : change.at % out.length;
  if (change.kind === "drop") out.splice(at, 1);
  else if (change.kind === "repeat" && out.length > 0) out.splice(at, 0, out[at]!);
  else if (change.kind === "rewrite" && out.length > 0) out[at] = [out[at]![0], change.value];
  else if (change.kind === "insert") out.splice(change.at % (out.length + 1), 0, change.field);
  return out;
}

const request = fc.record({
  changes: fc.array(mutation, { minLength: 1, maxLength: 3 }),
  trailers: fc.option(fc.array(field, { maxLength: 2 }), { nil: undefined }),
});

function bytesOf({ changes, trailers }: { changes: Mutation[]; trailers: Field[] | undefined }): Buffer {
  const fields = changes.reduce<Field[]>((acc, change) => mutate(acc, change), [...REQUEST]);
  const headers = frame(FrameType.HEADERS, END_HEADERS, 1, literalBlock(fields));
  if (trailers === undefined) return Buffer.concat([headers, frame(FrameType.DATA, END_STREAM, 1, MESSAGE)]);
  const end = frame(FrameType.HEADERS, END_HEADERS | END_STREAM, 1, literalBlock(trailers));
  return Buffer.concat([headers, frame(FrameType.DATA, 0, 1, MESSAGE), end]);
}

describe("the node:net gRPC server against grpc-js, on mutated request header blocks", () => {
  const decided = { reference: 0, candidate: 0 };
  let reference: GrpcServer;
  let candidate: GrpcServer;
  beforeAll(async () => {
    const serve = (who: keyof typeof decided) => ({
      host: "127.0.0.1",
      port: 0,
      authorization: createExtAuthzHandlers(
        {
          decide: async (): Promise<Decision> => {
            decided[who] += 1;
            return { kind: "allow", route: "r", reason: "public", setHeaders: [], removeHeaders: [] };
          },
        },
        { checked() {} },
      ),
      health: createHealthHandlers(new HealthState()),
    });
    reference = await startGrpcServer(serve("reference"));
    candidate = await startNetGrpcServer(serve("candidate"));
  });
  afterAll(() => Promise.all([reference.shutdown(1000), candidate.shutdown(1000)]));

  it("decides no request that grpc-js refuses before its handler", async () => {
    let bothDecided = 0;
    await fc.assert(
      fc.asyncProperty(request, async (generated) => {
        const bytes = bytesOf(generated);
        decided.reference = 0;
        decided.candidate = 0;
        const [expected, actual] = await Promise.all([
          exchangeAnswered(reference.port, bytes),
          exchangeAnswered(candidate.port, bytes),
        ]);
        const answered = (frames: typeof expected) => frames.some((f) => f.type === FrameType.DATA && f.stream === 1);
        if (decided.candidate > 0) expect(decided.reference).toBe(1);
        if (answered(actual)) expect(answered(expected)).toBe(true);
        if (decided.reference > 0 && decided.candidate > 0) bothDecided += 1;
      }),
      { numRuns: propertyRuns(400) },
    );
    // The mutations leave some requests well-formed: the property also held for requests both decided.
    expect(bothDecided).toBeGreaterThan(0);
  });
});
