// The node:http2 gRPC server as its clients see it: a real grpc-js client for Check, health Check
// and Watch, deadlines and shutdown; hand-written HTTP/2 for what no gRPC client sends (wrong method
// or content type, bad prefixes, compression, oversize, truncated or repeated messages).
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import type { Decision } from "../../src/core/Decision.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import { PROTO_LOADER_OPTIONS } from "../../src/transport/loadProtos.ts";
import type { GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { OWN_GRPC_SERVERS, type StartOwnGrpcServer } from "../harness/ownGrpcServers.ts";
import { startCheckServer } from "../../src/transport/startCheckServer.ts";
import { openCheckClient } from "../harness/grpcTestClients.ts";
import { grpcFrame, openRawSession, rawGrpcCall } from "../harness/rawGrpcCall.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";
import { servedByTransport } from "../harness/servedByTransport.ts";

const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const upstream = loadUpstreamExtAuthzTypes();

/** A gate that answers from the path: /slow waits for release(), anything else is allowed at once. */
function testGate() {
  const waiting: Array<() => void> = [];
  return {
    waiting,
    release: () => waiting.splice(0).forEach((go) => go()),
    decide: async (request: AccessRequest): Promise<Decision> => {
      if (request.path === "/slow") await new Promise<void>((go) => waiting.push(go));
      return { kind: "allow", route: "r", reason: "public", setHeaders: [["x-path", request.path]], removeHeaders: [] };
    },
  };
}

function checkRequestBytes(path: string): Uint8Array {
  const message = { attributes: { request: { http: { id: "1", method: "GET", host: "h", path, scheme: "https" } } } };
  return upstream.checkRequest.encode(upstream.checkRequest.fromObject(message)).finish();
}

async function startTestServer(
  start: StartOwnGrpcServer,
  gate: ReturnType<typeof testGate>,
  state = new HealthState(),
  extra = {},
) {
  return start({
    host: "127.0.0.1",
    port: 0,
    authorization: createExtAuthzHandlers(gate, { checked() {} }),
    health: createHealthHandlers(state),
    ...extra,
  });
}

function healthClient(port: number) {
  const def = protoLoader.loadSync("grpc/health/v1/health.proto", { ...PROTO_LOADER_OPTIONS, enums: String });
  const Health = (grpc.loadPackageDefinition(def) as any).grpc.health.v1.Health as grpc.ServiceClientConstructor;
  return new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as any;
}

describe.each(OWN_GRPC_SERVERS)("the $name gRPC server", ({ start }) => {
  describe("with a grpc-js client", () => {
    const gate = testGate();
    const state = new HealthState();
    let server: GrpcServer;
    beforeAll(async () => (server = await startTestServer(start, gate, state)));
    afterAll(() => server.shutdown(1000));

    it("answers an ext_authz Check with the handler's CheckResponse", async () => {
      const client = openCheckClient(server.port);
      const response = await client.check("/hello");
      client.close();
      expect(response["status"]).toMatchObject({ code: 0 });
      expect(response["ok_response"]["headers"][0]["header"]).toMatchObject({ key: "x-path", value: "/hello" });
    });

    it("answers health Check for the process and ext_authz, NOT_FOUND for other services", async () => {
      const client = healthClient(server.port);
      const check = (service: string) =>
        new Promise<any>((resolve, reject) =>
          client.Check({ service }, (e: any, r: any) => (e ? reject(e) : resolve(r))),
        );
      expect((await check("")).status).toBe("SERVING");
      expect((await check("envoy.service.auth.v3.Authorization")).status).toBe("SERVING");
      await expect(check("other.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
      client.close();
    });

    it("streams health Watch changes and ends the stream on drain", async () => {
      const client = healthClient(server.port);
      const stream = client.Watch({ service: "" });
      const statuses: string[] = [];
      let onData!: () => void;
      stream.on("data", (m: { status: string }) => {
        statuses.push(m.status);
        onData();
      });
      const next = () => new Promise<void>((resolve) => (onData = resolve));
      const status = new Promise<grpc.StatusObject>((resolve) => stream.on("status", resolve));
      await next();
      const second = next();
      state.drain();
      await second;
      expect(statuses).toEqual(["SERVING", "NOT_SERVING"]);
      expect((await status).code).toBe(grpc.status.OK);
      client.close();
    });

    it("answers DEADLINE_EXCEEDED when the check outlives the client's deadline", async () => {
      const Client = grpc.makeGenericClientConstructor({}, "x");
      const client = new Client(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure());
      const error = await new Promise<grpc.ServiceError>((resolve) =>
        client.makeUnaryRequest(
          CHECK,
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(checkRequestBytes("/slow")),
          { deadline: Date.now() + 100 },
          (e) => resolve(e as grpc.ServiceError),
        ),
      );
      expect(error.code).toBe(grpc.status.DEADLINE_EXCEEDED);
      gate.release();
      client.close();
    });
  });

  describe("with hand-written HTTP/2", () => {
    const gate = testGate();
    let server: GrpcServer;
    let session: ReturnType<typeof openRawSession>;
    beforeAll(async () => {
      server = await startTestServer(start, gate, new HealthState(), { maxMessageBytes: 4096 });
      session = openRawSession(server.port);
    });
    afterAll(async () => {
      session.close();
      await server.shutdown(1000);
    });
    const call = (request: Parameters<typeof rawGrpcCall>[1]) => rawGrpcCall(session, request);
    const valid = () => grpcFrame(checkRequestBytes("/raw"));

    it("answers a unary Check with headers, one message and grpc-status 0 trailers", async () => {
      const answer = await call({ path: CHECK, data: [valid()] });
      expect(answer.headers[":status"]).toBe(200);
      expect(answer.headers["content-type"]).toBe("application/grpc+proto");
      expect(answer.trailers["grpc-status"]).toBe("0");
      expect(answer.body.readUInt32BE(1)).toBe(answer.body.length - 5);
      const response = upstream.checkResponse.decode(answer.body.subarray(5)) as any;
      expect(response.ok_response.headers[0].header.value).toBe("/raw");
    });

    it("reads a message split across DATA frames, its prefix included", async () => {
      const whole = valid();
      const answer = await call({ path: CHECK, data: [whole.subarray(0, 3), whole.subarray(3, 9), whole.subarray(9)] });
      expect(answer.grpcStatus).toBe(0);
    });

    it("refuses anything but POST with 405 and a non-gRPC content type with 415", async () => {
      expect((await call({ path: CHECK, headers: { ":method": "GET" } })).headers[":status"]).toBe(405);
      const json = await call({ path: CHECK, headers: { "content-type": "application/json" }, data: [valid()] });
      expect(json.headers[":status"]).toBe(415);
    });

    it("answers an unknown method UNIMPLEMENTED, trailers-only", async () => {
      const answer = await call({ path: "/envoy.service.auth.v2.Authorization/Check", data: [valid()] });
      expect(answer.headers["grpc-status"]).toBe("12");
      expect(answer.body.length).toBe(0);
    });

    it("refuses a message over the size limit RESOURCE_EXHAUSTED from its prefix alone", async () => {
      const prefix = Buffer.from([0, 0, 0, 0x10, 0x01]);
      const answer = await call({ path: CHECK, data: [prefix, Buffer.alloc(100)] });
      expect(answer.grpcStatus).toBe(8);
    });

    it("refuses compressed messages: INTERNAL under identity, UNIMPLEMENTED for an encoding it cannot read", async () => {
      const compressed = grpcFrame(checkRequestBytes("/raw"), 1);
      expect((await call({ path: CHECK, data: [compressed] })).grpcStatus).toBe(13);
      const gzip = await call({ path: CHECK, headers: { "grpc-encoding": "gzip" }, data: [compressed] });
      expect(gzip.grpcStatus).toBe(12);
      expect((await call({ path: CHECK, data: [grpcFrame(checkRequestBytes("/raw"), 7)] })).grpcStatus).toBe(13);
    });

    it("refuses a missing, truncated or repeated request message", async () => {
      expect((await call({ path: CHECK })).grpcStatus).toBe(12);
      expect((await call({ path: CHECK, data: [valid().subarray(0, 3)] })).grpcStatus).toBe(13);
      expect((await call({ path: CHECK, data: [valid().subarray(0, 12)] })).grpcStatus).toBe(13);
      expect((await call({ path: CHECK, data: [Buffer.concat([valid(), valid()])] })).grpcStatus).toBe(12);
    });

    it("denies a CheckRequest its decoder refuses with an explicit 503, not a gRPC error", async () => {
      const answer = await call({ path: CHECK, data: [grpcFrame(Buffer.from([0x0a, 0x05, 0x01]))] });
      expect(answer.grpcStatus).toBe(0);
      const response = upstream.checkResponse.decode(answer.body.subarray(5)) as any;
      expect(response.denied_response.status.code).toBe(503);
    });

    it("answers INTERNAL for a malformed grpc-timeout and a health request that does not decode", async () => {
      expect((await call({ path: CHECK, headers: { "grpc-timeout": "soon" }, data: [valid()] })).grpcStatus).toBe(13);
      const health = await call({ path: "/grpc.health.v1.Health/Check", data: [grpcFrame(Buffer.from([0x0f]))] });
      expect(health.grpcStatus).toBe(13);
    });

    it("answers DEADLINE_EXCEEDED at the grpc-timeout, percent-encoding grpc-message", async () => {
      const answer = await call({
        path: CHECK,
        headers: { "grpc-timeout": "30m" },
        data: [grpcFrame(checkRequestBytes("/slow"))],
      });
      expect(answer.grpcStatus).toBe(4);
      expect(answer.grpcMessage).toBe("Deadline exceeded");
      gate.release();
      const unknown = await call({ path: "/caf\u00e9%", data: [valid()] });
      expect(unknown.grpcMessage).toBe("The server does not implement the method /caf%C3%A9%25");
    });
  });

  describe("connections", () => {
    it("pings an idle connection at the keepalive interval", async () => {
      const server = await startTestServer(start, testGate(), new HealthState(), { keepaliveTimeMs: 20 });
      const session = openRawSession(server.port);
      await new Promise<void>((resolve) => session.once("ping", () => resolve()));
      session.close();
      await server.shutdown(1000);
    });

    it("on shutdown refuses new connections, finishes a check in flight, then resolves", async () => {
      const gate = testGate();
      const server = await startTestServer(start, gate);
      const session = openRawSession(server.port);
      const inFlight = rawGrpcCall(session, { path: CHECK, data: [grpcFrame(checkRequestBytes("/slow"))] });
      while (gate.waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
      const stopped = server.shutdown(10_000);
      const late = openRawSession(server.port);
      const refused = await new Promise<boolean>((resolve) => {
        late.on("error", () => resolve(true));
        late.on("connect", () => resolve(false));
      });
      expect(refused).toBe(true);
      gate.release();
      expect((await inFlight).grpcStatus).toBe(0);
      await stopped;
      session.close();
    });

    it("past the grace period, destroys the connections whose calls have not finished", async () => {
      const gate = testGate();
      const server = await startTestServer(start, gate);
      const session = openRawSession(server.port);
      const inFlight = rawGrpcCall(session, { path: CHECK, data: [grpcFrame(checkRequestBytes("/slow"))] });
      while (gate.waiting.length === 0) await new Promise((resolve) => setImmediate(resolve));
      await server.shutdown(50);
      const answer = await inFlight.catch(() => null);
      expect(answer?.grpcStatus).toBeUndefined();
      gate.release();
    });
  });
});

describe("the transport switch", () => {
  it("serves Check and health with the transport listen.grpcTransport names", async () => {
    for (const transport of ["grpc-js", "http2", "net"] as const) {
      const server = await startCheckServer(transport, {
        host: "127.0.0.1",
        port: 0,
        authorization: createExtAuthzHandlers(
          { decide: async () => ({ kind: "allow", route: "r", reason: "public", setHeaders: [], removeHeaders: [] }) },
          { checked: () => undefined },
        ),
        health: createHealthHandlers(new HealthState()),
      });
      try {
        expect(await servedByTransport(server.port)).toBe(transport);
      } finally {
        await server.shutdown(100);
      }
    }
  });
});
