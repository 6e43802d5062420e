// The wire codec inside the served Check: bytes the decoder refuses and a decision the encoder
// cannot write are answered with explicit denials (never a gRPC error Envoy's failure_mode_allow
// could turn into an allow), and a reused decision's bytes are encoded once.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/Decision.ts";
import { checkResponseBytes } from "../../src/transport/checkResponseBytes.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { encodeCheckResponse } from "../../src/transport/encodeCheckResponse.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import { startGrpcServer, type GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { bytesField, stringField } from "../harness/protobufWire.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";

const upstream = loadUpstreamExtAuthzTypes();
const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const allow = (setHeaders: Array<[string, string]>): Decision => ({
  kind: "allow",
  route: "r",
  reason: "authenticated",
  setHeaders,
  removeHeaders: ["x-user-email"],
});

describe("the wire codec in the served Check", () => {
  let server: GrpcServer;
  let client: grpc.Client;
  let next: Decision = allow([]);
  const observed: Array<{ decision: Decision; fault: unknown }> = [];

  beforeAll(async () => {
    server = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      authorization: createExtAuthzHandlers(
        { decide: async () => next },
        { checked: (_request, decision, _seconds, fault) => observed.push({ decision, fault }) },
      ),
      health: createHealthHandlers(new HealthState()),
    });
    client = new grpc.Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await server.shutdown(1000);
  });

  /** One Check with raw request bytes; the answer decoded with Envoy's complete definitions. */
  const check = (bytes: Uint8Array) =>
    new Promise<Record<string, any>>((resolve, reject) =>
      client.makeUnaryRequest(
        CHECK,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(bytes),
        (err, res) =>
          err
            ? reject(err)
            : resolve(upstream.checkResponse.toObject(upstream.checkResponse.decode(res!), { enums: Number })),
      ),
    );
  const request = bytesField(1, bytesField(4, bytesField(2, stringField(2, "GET"))));

  it("answers bytes the decoder refuses with an explicit 503 denial and says why in the log detail", async () => {
    const res = await check(Uint8Array.of(0x0a, 0x05, 0x22, 0x10));
    expect(res["status"].code).toBe(grpc.status.UNAVAILABLE);
    expect(res["denied_response"].status.code).toBe(503);
    const last = observed.at(-1)!.decision;
    expect(last.kind === "deny" && last.detail).toBe("check request refused: length past the end of its message");
  });

  it("answers a decision whose header value has no UTF-8 form with a 503 denial, not a changed header", async () => {
    next = allow([["x-user-sub", "alice\ud800"]]);
    const res = await check(request);
    expect(res["denied_response"].status.code).toBe(503);
    expect(observed.at(-1)!.decision.kind).toBe("deny");
  });

  it("answers a well-formed request with the decision's bytes", async () => {
    next = allow([["x-user-sub", "alice"]]);
    const res = await check(request);
    expect(res["status"].code ?? 0).toBe(0);
    expect(res["ok_response"].headers[0].header).toMatchObject({ key: "x-user-sub", value: "alice" });
    expect(res["ok_response"].headers_to_remove).toEqual(["x-user-email"]);
  });
});

describe("CheckResponse bytes of a reused decision", () => {
  it("encodes a frozen decision once and hands out the same bytes again", () => {
    const decision = Object.freeze(allow([["x-user-sub", "alice"]]));
    const first = checkResponseBytes(decision);
    expect(first).toEqual(encodeCheckResponse(decision));
    expect(checkResponseBytes(decision)).toBe(first);
  });

  it("encodes a decision made for one check every time", () => {
    const decision = allow([["x-user-sub", "alice"]]);
    const first = checkResponseBytes(decision);
    expect(checkResponseBytes(decision)).not.toBe(first);
    expect(checkResponseBytes(decision)).toEqual(first);
  });
});
