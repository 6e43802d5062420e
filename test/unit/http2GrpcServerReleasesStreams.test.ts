// A finished call leaves nothing of its own on its node:http2 stream: node keeps a closed stream
// reachable for V8's young collections until a full one, so any listener still on it would keep the
// call (request, handler closures) alive and promoted with it. Server streams are observed through
// node's diagnostics channel; the product's code is not instrumented.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { ServerHttp2Stream } from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Decision } from "../../src/core/Decision.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import type { GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { startHttp2GrpcServer } from "../../src/transport/startHttp2GrpcServer.ts";
import { grpcFrame, openRawSession, rawGrpcCall } from "../harness/rawGrpcCall.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";

const CHECK = "/envoy.service.auth.v3.Authorization/Check";
const upstream = loadUpstreamExtAuthzTypes();
const allow: Decision = { kind: "allow", route: "r", reason: "public", setHeaders: [], removeHeaders: [] };

function checkRequest(): Buffer {
  const message = {
    attributes: { request: { http: { id: "1", method: "GET", host: "h", path: "/", scheme: "https" } } },
  };
  return grpcFrame(upstream.checkRequest.encode(upstream.checkRequest.fromObject(message)).finish());
}

/** Listeners left on a closed stream, by event, leaving out node's own (pause/resume flow control). */
function listenersLeft(stream: ServerHttp2Stream): Record<string, number> {
  const left: Record<string, number> = {};
  for (const name of ["data", "end", "close", "wantTrailers", "error"]) left[name] = stream.listenerCount(name);
  return left;
}

describe("the node:http2 gRPC server once a call has finished", () => {
  const streams: ServerHttp2Stream[] = [];
  const closes: Array<Promise<void>> = [];
  const onCreated = (message: unknown) => {
    const { stream } = message as { stream: ServerHttp2Stream };
    streams.push(stream);
    // Settles once every 'close' listener has run (emit calls them all before returning).
    closes.push(new Promise<void>((done) => stream.once("close", () => done())));
  };
  let server: GrpcServer;
  beforeAll(async () => {
    subscribe("http2.server.stream.created", onCreated);
    server = await startHttp2GrpcServer({
      host: "127.0.0.1",
      port: 0,
      authorization: createExtAuthzHandlers({ decide: async () => allow }, { checked() {} }),
      health: createHealthHandlers(new HealthState()),
    });
  });
  afterAll(async () => {
    unsubscribe("http2.server.stream.created", onCreated);
    await server.shutdown(1000);
  });

  it("leaves only the error listener on the streams of answered, refused and truncated calls", async () => {
    const session = openRawSession(server.port);
    const answered = await rawGrpcCall(session, { path: CHECK, data: [checkRequest()] });
    const refused = await rawGrpcCall(session, { path: "/no.Such/Method", data: [checkRequest()] });
    const truncated = await rawGrpcCall(session, { path: CHECK, data: [checkRequest().subarray(0, 7)] });
    session.close();
    expect([answered.grpcStatus, refused.grpcStatus, truncated.grpcStatus]).toEqual([0, 12, 13]);
    expect(streams).toHaveLength(3);
    await Promise.all(closes);
    // The error listener stays: a late write completion may still report an error on a closed stream.
    for (const stream of streams)
      expect(listenersLeft(stream)).toEqual({ data: 0, end: 0, close: 0, wantTrailers: 0, error: 1 });
  });
});
