// Differential: the node:http2 gRPC server against the grpc-js one it may replace. The same
// CheckRequest bytes (generated from Envoy's upstream protos, plus arbitrary bytes the decoder
// refuses) go to both, each serving the same handlers over a gate whose decision depends on the
// request; the answers must carry the same grpc-status and byte-identical CheckResponses. The error
// statuses both give for the same broken calls are compared too.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import type { Decision } from "../../src/core/Decision.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import { startGrpcServer, type GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { OWN_GRPC_SERVERS } from "../harness/ownGrpcServers.ts";
import { propertyRuns } from "../harness/propertyRuns.ts";
import { grpcFrame, openRawSession, rawGrpcCall, type RawGrpcRequest } from "../harness/rawGrpcCall.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";

const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const upstream = loadUpstreamExtAuthzTypes();

/** Allows or denies from the request, echoing its fields into headers, so answers differ with their requests. */
const gate = {
  decide: async (request: AccessRequest): Promise<Decision> => {
    if (request.headers.has("x-deny")) {
      return {
        kind: "deny",
        route: null,
        code: "insufficient_scope",
        status: 403,
        headers: [["x-why", request.headers.get("x-deny") ?? ""]],
        body: request.path,
        // A denial's dynamic metadata goes out in the same bytes on every server as well.
        metadata: {
          namespace: "portcullis",
          fields: [
            ["code", "insufficient_scope"],
            ["path", request.path],
          ],
        },
      };
    }
    const setHeaders = [...request.headers].map(([name, value]) => [`x-echo-${name}`, value] as const);
    return {
      kind: "allow",
      route: request.host,
      reason: "public",
      setHeaders: [["x-method", request.method], ["x-path", request.path], ...setHeaders],
      removeHeaders: [...request.headers.keys()],
      // Dynamic metadata (identity.metadata) goes out in the same bytes on every server too.
      metadata: {
        namespace: "portcullis",
        fields: [
          ["route", request.host],
          ["path", request.path],
        ],
      },
    };
  },
};

const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/);
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("", "/a?b=1", "Bearer x.y.z", "caf\u00e9"));
const httpRequest = fc.record({
  id: fc.string({ maxLength: 8 }),
  method: fc.constantFrom("GET", "POST", "DELETE", ""),
  host: fc.constantFrom("example.com", "Example.COM:8443", "", "[::1]:80"),
  path: text,
  scheme: fc.constantFrom("https", "http"),
  headers: fc.dictionary(fc.oneof(token, fc.constant("x-deny")), text, { maxKeys: 6 }),
});
const checkRequest = httpRequest.map((http) => {
  const message = upstream.checkRequest.fromObject({ attributes: { request: { http } } });
  return upstream.checkRequest.encode(message).finish();
});

describe.each(OWN_GRPC_SERVERS)("the $name gRPC server", ({ start }) => {
  describe("against grpc-js", () => {
    let reference: GrpcServer;
    let candidate: GrpcServer;
    let referenceSession: ReturnType<typeof openRawSession>;
    let candidateSession: ReturnType<typeof openRawSession>;
    beforeAll(async () => {
      const options = {
        host: "127.0.0.1",
        port: 0,
        authorization: createExtAuthzHandlers(gate, { checked() {} }),
        health: createHealthHandlers(new HealthState()),
      };
      reference = await startGrpcServer(options);
      candidate = await start(options);
      referenceSession = openRawSession(reference.port);
      candidateSession = openRawSession(candidate.port);
    });
    afterAll(async () => {
      referenceSession.close();
      candidateSession.close();
      await Promise.all([reference.shutdown(1000), candidate.shutdown(1000)]);
    });

    const both = (request: RawGrpcRequest) =>
      Promise.all([rawGrpcCall(referenceSession, request), rawGrpcCall(candidateSession, request)]);

    it("answers the same CheckRequests with byte-identical CheckResponses", async () => {
      await fc.assert(
        fc.asyncProperty(fc.oneof(checkRequest, checkRequest, fc.uint8Array({ maxLength: 64 })), async (bytes) => {
          const [expected, actual] = await both({ path: CHECK, data: [grpcFrame(bytes)] });
          expect(actual.grpcStatus).toBe(0);
          expect(actual.grpcStatus).toBe(expected.grpcStatus);
          expect(actual.body.equals(expected.body)).toBe(true);
        }),
        { numRuns: propertyRuns(300) },
      );
    });

    it("gives the same statuses for calls both refuse", async () => {
      const valid = grpcFrame(upstream.checkRequest.encode(upstream.checkRequest.fromObject({})).finish());
      const refused: RawGrpcRequest[] = [
        { path: "/envoy.service.auth.v2.Authorization/Check", data: [valid] },
        { path: CHECK, data: [Buffer.from([0, 0, 0x10, 0, 1])] },
        { path: CHECK },
        { path: CHECK, data: [Buffer.concat([valid, valid])] },
        { path: CHECK, headers: { "grpc-timeout": "soon" }, data: [valid] },
        { path: CHECK, headers: { "grpc-encoding": "br" }, data: [grpcFrame(Buffer.from([1]), 1)] },
      ];
      for (const request of refused) {
        const [expected, actual] = await both(request);
        expect({ path: request.path, status: actual.grpcStatus }).toEqual({
          path: request.path,
          status: expected.grpcStatus,
        });
      }
      const [expected, actual] = await both({ path: CHECK, headers: { "content-type": "text/plain" }, data: [valid] });
      expect(actual.headers[":status"]).toBe(expected.headers[":status"]);
    });
  });
});
