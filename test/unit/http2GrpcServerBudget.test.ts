// The node:http2 gRPC server's bounds, over real sockets: the budget of request bytes in flight
// (calls past it refused RESOURCE_EXHAUSTED, large partial messages giving way to a small check, the
// count back to 0 however a call ends, a call without grpc-timeout whose request never arrives ended), a peer dropping its connection mid-message, and the cap on
// connections (refused at accept, the others served).
import { constants, type ClientHttp2Session, type ClientHttp2Stream } from "node:http2";
import { afterEach, describe, expect, it } from "vitest";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import type { Decision } from "../../src/core/Decision.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import { CALL_BYTES, RequestByteBudget } from "../../src/transport/RequestByteBudget.ts";
import type { GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { OWN_GRPC_SERVERS, type StartOwnGrpcServer } from "../harness/ownGrpcServers.ts";
import { grpcFrame, openRawSession, rawGrpcCall } from "../harness/rawGrpcCall.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const KIB = 1024;
const upstream = loadUpstreamExtAuthzTypes();

/** Allows every path at once but /slow, which waits for release(). */
function testGate() {
  const waiting: Array<() => void> = [];
  return {
    release: () => waiting.splice(0).forEach((go) => go()),
    decide: async (request: AccessRequest): Promise<Decision> => {
      if (request.path === "/slow") await new Promise<void>((go) => waiting.push(go));
      return { kind: "allow", route: "r", reason: "public", setHeaders: [], removeHeaders: [] };
    },
  };
}

function smallCheck(path = "/small"): Buffer {
  const message = { attributes: { request: { http: { id: "1", method: "GET", host: "h", path, scheme: "https" } } } };
  return grpcFrame(upstream.checkRequest.encode(upstream.checkRequest.fromObject(message)).finish());
}

/** A Check stream whose message says `declared` bytes but only `sent` (prefix included; 0: headers only) are written. */
function partialCheck(
  session: ClientHttp2Session,
  declared: number,
  sent: number,
  headers = {},
): { stream: ClientHttp2Stream; status: Promise<number | undefined> } {
  const stream = session.request({
    ":method": "POST",
    ":path": CHECK,
    "content-type": "application/grpc",
    te: "trailers",
    ...headers,
  });
  // Settled by the answer's status, not the stream's close: the client's half stays open (never ended).
  const status = new Promise<number | undefined>((resolve) => {
    stream.on("response", (h) => h["grpc-status"] !== undefined && resolve(Number(h["grpc-status"])));
    stream.on("trailers", (t) => resolve(Number(t["grpc-status"])));
    stream.on("error", () => undefined);
    stream.on("close", () => resolve(undefined));
    stream.resume();
  });
  if (sent > 0) {
    const bytes = Buffer.alloc(sent);
    bytes.writeUInt32BE(declared, 1);
    stream.write(bytes);
  }
  return { stream, status };
}

const opened: Array<{ close(): void }> = [];
let server: GrpcServer | undefined;

async function startWith(
  startServer: StartOwnGrpcServer,
  gate: ReturnType<typeof testGate>,
  extra: object,
): Promise<GrpcServer> {
  server = await startServer({
    host: "127.0.0.1",
    port: 0,
    authorization: createExtAuthzHandlers(gate, { checked() {} }),
    health: createHealthHandlers(new HealthState()),
    ...extra,
  });
  return server;
}

function session(port: number): ClientHttp2Session {
  const opened1 = openRawSession(port);
  opened.push({ close: () => opened1.destroy() });
  return opened1;
}

afterEach(async () => {
  opened.splice(0).forEach((s) => s.close());
  await server?.shutdown(100);
  server = undefined;
});

describe.each(OWN_GRPC_SERVERS)("the $name gRPC server", ({ start }) => {
  describe("budget of request bytes in flight", () => {
    it("refuses partial large messages past the budget RESOURCE_EXHAUSTED and still answers a small check", async () => {
      const budget = new RequestByteBudget(1024 * KIB);
      const { port } = await startWith(start, testGate(), { requestBudget: budget });
      const flood = session(port);
      const calls = Array.from({ length: 8 }, () => partialCheck(flood, 900 * KIB, 300 * KIB));
      const refused: number[] = [];
      calls.forEach((c) => c.status.then((s) => s === 8 && refused.push(s)));
      // At most three of 300 KiB (and CALL_BYTES each) fit in 1 MiB: the others are refused as their bytes arrive.
      expect(await waitUntil(async () => refused.length >= 5, 10_000, 10)).toBe(true);
      expect(budget.bytes).toBeLessThanOrEqual(budget.limit);

      const answer = await rawGrpcCall(session(port), { path: CHECK, data: [smallCheck()] });
      expect(answer.grpcStatus).toBe(0);
      flood.destroy();
      expect(await waitUntil(async () => budget.bytes === 0, 10_000, 10)).toBe(true);
    });

    it("ends the large partial messages holding the whole budget so a small check fits", async () => {
      const held = CALL_BYTES + 256 * KIB;
      const budget = new RequestByteBudget(4 * held);
      const { port } = await startWith(start, testGate(), { requestBudget: budget });
      const flood = session(port);
      const calls = Array.from({ length: 4 }, () => partialCheck(flood, 900 * KIB, 256 * KIB));
      expect(await waitUntil(async () => budget.bytes === budget.limit, 10_000, 10)).toBe(true);

      const answer = await rawGrpcCall(session(port), { path: CHECK, data: [smallCheck()] });
      expect(answer.grpcStatus).toBe(0);
      // The oldest large call gave way; the others still hold theirs.
      expect(await calls[0]!.status).toBe(8);
      expect(budget.bytes).toBe(3 * held);
    });

    it("refuses a call that opens when the budget is full, before any of its message", async () => {
      const budget = new RequestByteBudget(2 * CALL_BYTES);
      const { port } = await startWith(start, testGate(), { requestBudget: budget });
      const client = session(port);
      const open = [partialCheck(client, 100, 0), partialCheck(client, 100, 0)];
      expect(await waitUntil(async () => budget.bytes === 2 * CALL_BYTES, 10_000, 10)).toBe(true);
      const refused = await rawGrpcCall(client, { path: CHECK, data: [smallCheck()] });
      expect(refused.grpcStatus).toBe(8);
      expect(refused.grpcMessage).toBe(`Server is holding its limit of request bytes (${2 * CALL_BYTES})`);
      open.forEach((c) => c.stream.close(constants.NGHTTP2_CANCEL));
      expect(await waitUntil(async () => budget.bytes === 0, 10_000, 10)).toBe(true);
      expect((await rawGrpcCall(client, { path: CHECK, data: [smallCheck()] })).grpcStatus).toBe(0);
    });

    it("gives back a call's bytes exactly once however it ends: answer, RST, deadline, refusal, session close", async () => {
      const budget = new RequestByteBudget();
      const gate = testGate();
      const { port } = await startWith(start, gate, { requestBudget: budget, maxMessageBytes: 64 * KIB });
      const first = session(port);
      const reset = partialCheck(first, 10 * KIB, 3 * KIB);
      // A deadline well past the moment every call's bytes are counted, even on a loaded machine (at
      // 50 ms it could expire before the other calls' bytes had arrived, and the sum was never seen).
      const expiring = partialCheck(first, 10 * KIB, 2 * KIB, { "grpc-timeout": "4S" });
      const dropped = partialCheck(session(port), 10 * KIB, 4 * KIB);
      const slow = rawGrpcCall(first, { path: CHECK, data: [smallCheck("/slow")] });
      const slowBytes = smallCheck("/slow").length;
      expect(await waitUntil(async () => budget.bytes === 9 * KIB + slowBytes + 4 * CALL_BYTES, 10_000, 10)).toBe(true);

      reset.stream.close(constants.NGHTTP2_CANCEL);
      expect(await expiring.status).toBe(4);
      dropped.stream.session!.destroy();
      expect(await waitUntil(async () => budget.bytes === slowBytes + CALL_BYTES, 10_000, 10)).toBe(true);

      gate.release();
      expect((await slow).grpcStatus).toBe(0);
      const oversize = await rawGrpcCall(first, {
        path: CHECK,
        data: [Buffer.from([0, 0, 2, 0, 0]), Buffer.alloc(10)],
      });
      expect(oversize.grpcStatus).toBe(8);
      expect((await rawGrpcCall(first, { path: CHECK, data: [smallCheck()] })).grpcStatus).toBe(0);
      expect(budget.bytes).toBe(0);
    });
  });

  describe("wait for the request of a call without grpc-timeout", () => {
    it("ends a call that sends no whole request in time DEADLINE_EXCEEDED and gives its budget back", async () => {
      const budget = new RequestByteBudget();
      const { port } = await startWith(start, testGate(), { requestBudget: budget, requestWaitMs: 300 });
      const client = session(port);
      const silent = partialCheck(client, 100, 0);
      const partial = partialCheck(client, 100, 20);
      expect(await silent.status).toBe(4);
      expect(await partial.status).toBe(4);
      expect(await waitUntil(async () => budget.bytes === 0, 10_000, 10)).toBe(true);
      expect((await rawGrpcCall(client, { path: CHECK, data: [smallCheck()] })).grpcStatus).toBe(0);
    });

    it("lets a whole request's handler take longer than the wait: the wait ends with the request", async () => {
      const gate = testGate();
      const { port } = await startWith(start, gate, { requestWaitMs: 100 });
      const client = session(port);
      const slow = rawGrpcCall(client, { path: CHECK, data: [smallCheck("/slow")] });
      // A call opened after it that never sends its request: once the server has ended that one, the
      // wait has passed for the slow call too, whose request was whole and whose decision is pending.
      expect(await partialCheck(client, 100, 0).status).toBe(4);
      gate.release();
      expect((await slow).grpcStatus).toBe(0);
    });
  });

  describe("when a peer drops its connection", () => {
    it("stays up and answering when the connection goes with partial messages on it", async () => {
      // respond() on a stream the session's end had closed used to throw out of the 'end' handler.
      const budget = new RequestByteBudget();
      const { port } = await startWith(start, testGate(), { requestBudget: budget });
      const dropping = session(port);
      const calls = Array.from({ length: 4 }, () => partialCheck(dropping, 900 * KIB, 300 * KIB));
      expect(await waitUntil(async () => budget.bytes === 4 * (300 * KIB + CALL_BYTES), 10_000, 10)).toBe(true);
      dropping.destroy();
      await Promise.all(calls.map((c) => c.status));
      expect((await rawGrpcCall(session(port), { path: CHECK, data: [smallCheck()] })).grpcStatus).toBe(0);
    });
  });

  describe("cap on connections", () => {
    it("refuses connections past the cap at accept and keeps answering the others", async () => {
      const { port } = await startWith(start, testGate(), { maxConnections: 2 });
      const kept = [session(port), session(port)];
      for (const s of kept) expect((await rawGrpcCall(s, { path: CHECK, data: [smallCheck()] })).grpcStatus).toBe(0);

      const extra = session(port);
      const answer = await rawGrpcCall(extra, { path: CHECK, data: [smallCheck()] }).catch(() => undefined);
      expect(answer?.grpcStatus).toBeUndefined();
      expect(extra.destroyed || extra.closed).toBe(true);

      for (const s of kept) expect((await rawGrpcCall(s, { path: CHECK, data: [smallCheck()] })).grpcStatus).toBe(0);
      // A connection that closes makes room for another.
      kept[0]!.destroy();
      expect(
        await waitUntil(
          async () => (await rawGrpcCall(session(port), { path: CHECK, data: [smallCheck()] })).grpcStatus === 0,
          10_000,
          50,
        ),
      ).toBe(true);
    });
  });
});
