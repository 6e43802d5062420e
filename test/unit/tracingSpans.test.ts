// OpenTelemetry tracing in one process, exported to an OTLP/HTTP receiver on loopback: the Check
// span continues the caller's W3C or B3 trace context, IdP calls made during a check are its
// children (the context follows awaits), log lines carry the ids, faults mark spans as errors,
// sampling follows the incoming flag, and shutdown() exports what is still queued.
import { Writable } from "node:stream";
import { trace } from "@opentelemetry/api";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { createRemoteJWKSet } from "jose";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createCheckObserver } from "../../src/app/createCheckObserver.ts";
import { CHECK_SPAN_NAME, createCheckTracer } from "../../src/app/createCheckTracer.ts";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import type { Decision } from "../../src/core/Decision.ts";
import { deny, internalErrorDecision } from "../../src/core/deny.ts";
import { createLogger } from "../../src/observability/createLogger.ts";
import { createMetrics } from "../../src/observability/Metrics.ts";
import { startTracing, type Tracing, type TracingOptions } from "../../src/observability/startTracing.ts";
import { traceLogFields } from "../../src/observability/traceLogFields.ts";
import { withSpan } from "../../src/observability/withSpan.ts";
import { createLoginClient } from "../../src/oidc/createLoginClient.ts";
import { traceIdpCall } from "../../src/oidc/traceIdpCall.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { toAccessRequest } from "../../src/transport/toAccessRequest.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../harness/startOtlpReceiver.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { reservePort } from "../harness/reservePort.ts";
import { loginAtTestOp, startTestOp, type TestOp } from "../harness/startTestOp.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID = "00f067aa0ba902b7";
const SERVER = 2;
const CLIENT = 3;

let receiver: OtlpReceiver;
let tracing: Tracing | null = null;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await tracing?.shutdown();
  await receiver.close();
});
afterEach(async () => {
  await tracing?.shutdown();
  tracing = null;
});

function start(options: Partial<TracingOptions> = {}): Tracing {
  tracing = startTracing({
    endpoint: receiver.url,
    serviceName: "portcullis",
    sampleRatio: 1,
    exportTimeoutMs: 5000,
    headers: {},
    ...options,
  });
  return tracing;
}

/** Spans exported since `before` (an index into the receiver's list). */
function spansSince(before: number): ReceivedSpan[] {
  return receiver.spans().slice(before);
}

const allow = (): Decision => ({
  kind: "allow",
  route: "api",
  reason: "authenticated",
  setHeaders: [],
  removeHeaders: [],
  provider: "corp",
  credential: "bearer",
  caller: { kind: "user", id: "alice" },
});

interface CheckRun {
  readonly logLines: Array<Record<string, unknown>>;
}

/**
 * One Check through the real handler with the tracer and observer startServer wires, the request
 * carrying `headers`; `decide` plays the gate (and may make traced IdP calls).
 */
async function check(
  headers: Record<string, string>,
  decide: (request: AccessRequest) => Promise<Decision>,
): Promise<CheckRun> {
  const logLines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line.startsWith("{")) logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger("info", sink);
  const handlers = createExtAuthzHandlers(
    { decide },
    createCheckObserver(createMetrics(), logger, () => true),
    createCheckTracer(tracing!),
  );
  const call = {
    // The handler receives what the service definition's wire decoder made of the bytes.
    request: toAccessRequest({
      attributes: {
        request: {
          http: {
            id: "req-1",
            method: "GET",
            host: "app.example.com",
            path: "/api/x",
            headers: { authorization: "Bearer sekrit.tok.en", ...headers },
          },
        },
      },
    }),
  } as unknown as ServerUnaryCall<never, unknown>;
  await new Promise<void>((resolve) => {
    const callback: sendUnaryData<unknown> = () => resolve();
    handlers["Check"]!(call as never, callback);
  });
  // The span ends right after the answer is observed.
  await new Promise((resolve) => setImmediate(resolve));
  return { logLines };
}

describe("the Check span", () => {
  it("continues a W3C traceparent and records route, decision, reason and provider, never the token", async () => {
    start();
    const before = receiver.spans().length;
    await check({ traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01`, tracestate: "vendor=x" }, async () => allow());
    await tracing!.shutdown();
    const [span] = spansSince(before).filter((s) => s.name === CHECK_SPAN_NAME);
    expect(span).toMatchObject({ traceId: TRACE_ID, parentSpanId: PARENT_SPAN_ID, kind: SERVER, statusCode: 0 });
    expect(span!.attributes).toMatchObject({
      "portcullis.route": "api",
      "portcullis.decision": "allow",
      "portcullis.reason": "authenticated",
      "portcullis.provider": "corp",
      "portcullis.credential": "bearer",
      "portcullis.request_id": "req-1",
      "rpc.system": "grpc",
    });
    expect(receiver.bodies().join("\n")).not.toContain("sekrit");
  });

  it("continues a B3 single header and B3 multi headers", async () => {
    start();
    const before = receiver.spans().length;
    await check({ b3: "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1" }, async () => allow());
    await check(
      { "x-b3-traceid": "463ac35c9f6413ad48485a3953bb6124", "x-b3-spanid": "0020000000000001", "x-b3-sampled": "1" },
      async () => allow(),
    );
    await tracing!.shutdown();
    const checks = spansSince(before).filter((s) => s.name === CHECK_SPAN_NAME);
    expect(checks.map((s) => [s.traceId, s.parentSpanId])).toEqual([
      ["80f198ee56343ba864fe8b2a57d3eff7", "e457b5a2e4d86bd1"],
      ["463ac35c9f6413ad48485a3953bb6124", "0020000000000001"],
    ]);
  });

  it("makes an IdP call during the check its child, across awaits", async () => {
    start();
    const before = receiver.spans().length;
    // setImmediate: each await resumes from the event loop, not a microtask, as after real I/O.
    await check({ traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01` }, async () => {
      await new Promise((resolve) => setImmediate(resolve));
      await traceIdpCall("jwks_fetch", "corp", "GET", "https://idp.example.com/keys?secret=1", async () => {
        await new Promise((resolve) => setImmediate(resolve));
      });
      return allow();
    });
    await tracing!.shutdown();
    const spans = spansSince(before);
    const checkSpan = spans.find((s) => s.name === CHECK_SPAN_NAME)!;
    const fetchSpan = spans.find((s) => s.name === "oidc.jwks_fetch")!;
    expect(fetchSpan).toMatchObject({ traceId: TRACE_ID, parentSpanId: checkSpan.spanId, kind: CLIENT });
    expect(fetchSpan.attributes).toEqual({
      "portcullis.provider": "corp",
      "http.request.method": "GET",
      "url.full": "https://idp.example.com/keys",
    });
  });

  it("marks a fault (503) as an error, and a denial as not one", async () => {
    start();
    const before = receiver.spans().length;
    await check({}, async () => deny("token_expired", { route: "api", provider: "corp" }));
    await check({}, async () => {
      throw new Error("bug");
    });
    await check({}, async () => internalErrorDecision("api", "boom"));
    await tracing!.shutdown();
    const checks = spansSince(before).filter((s) => s.name === CHECK_SPAN_NAME);
    expect(
      checks.map((s) => [
        s.attributes["portcullis.decision"],
        s.attributes["portcullis.reason"],
        s.attributes["http.response.status_code"],
        s.statusCode,
      ]),
    ).toEqual([
      ["deny", "token_expired", 401, 0],
      ["deny", "internal_error", 503, 2],
      ["deny", "internal_error", 503, 2],
    ]);
    expect(checks[1]!.attributes["portcullis.route"]).toBe("(none)");
  });

  it("puts its trace and span ids on the lines logged for the check", async () => {
    start();
    const before = receiver.spans().length;
    const { logLines } = await check({ traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01` }, async () =>
      deny("token_missing", { route: "api" }),
    );
    await tracing!.shutdown();
    const checkSpan = spansSince(before).find((s) => s.name === CHECK_SPAN_NAME)!;
    const audit = logLines.find((line) => line["msg"] === "audit");
    expect(audit).toMatchObject({ trace_id: TRACE_ID, span_id: checkSpan.spanId, code: "token_missing" });
  });

  it("starts a new trace without incoming context, sampled by sampleRatio; an incoming sampled flag wins", async () => {
    start({ sampleRatio: 0 });
    const before = receiver.spans().length;
    await check({}, async () => allow());
    await check({ traceparent: `00-${TRACE_ID}-${PARENT_SPAN_ID}-01` }, async () => allow());
    await check({ traceparent: `00-${"a".repeat(32)}-${PARENT_SPAN_ID}-00` }, async () => allow());
    await tracing!.shutdown();
    expect(spansSince(before).map((s) => s.traceId)).toEqual([TRACE_ID]);

    start({ sampleRatio: 1 });
    const again = receiver.spans().length;
    await check({}, async () => allow());
    await tracing!.shutdown();
    const [root] = spansSince(again);
    expect(root!.parentSpanId).toBe("");
    expect(root!.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe("the exporter", () => {
  it("sends the configured headers and the service name, and exports queued spans on shutdown", async () => {
    start({ headers: { "x-api-key": "collector-key" }, serviceName: "edge-authz" });
    const before = receiver.spans().length;
    const exportsBefore = receiver.requestHeaders().length;
    await withSpan("queued", {}, async () => undefined);
    // The batch delay is the SDK's 5 s: only shutdown() can have sent it this soon.
    await tracing!.shutdown();
    expect(spansSince(before).map((s) => s.name)).toEqual(["queued"]);
    expect(spansSince(before)[0]!.resource["service.name"]).toBe("edge-authz");
    expect(
      receiver
        .requestHeaders()
        .slice(exportsBefore)
        .map((h) => h["x-api-key"]),
    ).toEqual(["collector-key"]);
  });

  it("exports on its own after the batch delay", async () => {
    start({ batchDelayMs: 50 });
    const before = receiver.spans().length;
    await withSpan("periodic", {}, async () => undefined);
    expect(await waitUntil(async () => spansSince(before).length === 1, 5000)).toBe(true);
  });
});

describe("export problems", () => {
  it("are reported at most once a minute, without the collector headers", async () => {
    const problems: string[] = [];
    const closed = await reservePort();
    await closed.release(); // nothing listens there now
    // Every problem the SDK reports reads the clock once, reported or not: the test sees the second
    // failure reach the limit without waiting a guessed time for it.
    const clock = createManualClock();
    let problemsSeen = 0;
    start({
      endpoint: `http://127.0.0.1:${closed.port}/v1/traces`,
      headers: { "x-api-key": "collector-key" },
      batchDelayMs: 20,
      // The exporter retries a refused connection within this budget before it reports the failure.
      exportTimeoutMs: 300,
      onProblem: (m) => problems.push(m),
      now: () => ((problemsSeen += 1), clock.now()),
    });
    await withSpan("lost", {}, async () => undefined);
    expect(await waitUntil(async () => problems.length > 0, 15_000)).toBe(true);
    const seenAtFirst = problemsSeen;
    clock.advance(59_999);
    await withSpan("lost again", {}, async () => undefined);
    expect(await waitUntil(async () => problemsSeen > seenAtFirst, 15_000)).toBe(true);
    expect(problems).toHaveLength(1);
    await tracing!.shutdown();
    expect(problems).toEqual([`connect ECONNREFUSED 127.0.0.1:${closed.port}`]);
  });
});

describe("IdP call spans", () => {
  let op: TestOp;
  beforeAll(async () => {
    op = await startTestOp({ accessTokenTtlSeconds: 60 });
  });
  afterAll(async () => {
    await op.close();
  });

  it("traces the code exchange and the refresh as children of the active span, without codes or tokens", async () => {
    start();
    const client = createLoginClient({
      providerName: "test-op",
      issuer: op.issuer,
      metadata: op.metadata,
      keys: createRemoteJWKSet(new URL(op.metadata["jwks_uri"] as string)),
      clientId: op.clientId,
      clientSecret: op.clientSecret,
      redirectUri: op.redirectUri,
      scopes: ["openid", "offline_access"],
      algorithms: ["RS256"],
      clockToleranceSeconds: 5,
      timeoutMs: 5000,
      allowInsecureHttp: true,
    });
    const { url, transaction } = await client.begin({ returnTo: "https://app.example.test/" });
    const params = await loginAtTestOp(url, op.redirectUri, "alice");
    const before = receiver.spans().length;
    const secrets: string[] = [params.get("code")!];
    await withSpan("callback", {}, async () => {
      const login = await client.complete(params, transaction);
      secrets.push(login.accessToken, login.refreshToken!);
      const refreshed = await client.refresh(login.refreshToken!, { sub: "alice" });
      secrets.push(refreshed.accessToken);
    });
    await tracing!.shutdown();
    const spans = spansSince(before);
    const outer = spans.find((s) => s.name === "callback")!;
    const exchange = spans.find((s) => s.name === "oidc.code_exchange")!;
    const refresh = spans.find((s) => s.name === "oidc.refresh")!;
    for (const span of [exchange, refresh]) {
      expect(span).toMatchObject({ traceId: outer.traceId, parentSpanId: outer.spanId, kind: CLIENT, statusCode: 0 });
      expect(span.attributes).toEqual({
        "portcullis.provider": "test-op",
        "http.request.method": "POST",
        "url.full": op.metadata["token_endpoint"],
      });
    }
    const exported = receiver.bodies().join("\n");
    for (const secret of secrets) expect(exported).not.toContain(secret);
  });

  it("marks a failed IdP call with its error code", async () => {
    start();
    const before = receiver.spans().length;
    const failure = Object.assign(new Error("the IdP said no: token=abc"), { code: "invalid_grant" });
    await expect(
      traceIdpCall("refresh", "corp", "POST", "https://idp.example.com/token", async () => Promise.reject(failure)),
    ).rejects.toBe(failure);
    await tracing!.shutdown();
    const [span] = spansSince(before);
    expect(span).toMatchObject({ name: "oidc.refresh", statusCode: 2 });
    expect(span!.attributes["error.type"]).toBe("invalid_grant");
    expect(receiver.bodies().join("\n")).not.toContain("token=abc");
  });
});

describe("with tracing off", () => {
  it("runs traced calls unchanged and adds no ids to log lines", async () => {
    const before = receiver.spans().length;
    const seen = await withSpan("off", {}, async () => traceLogFields());
    expect(seen).toEqual({});
    // Nothing is recorded, so nothing can be queued for an export later.
    expect(await withSpan("off", {}, async () => trace.getActiveSpan()?.isRecording() === true)).toBe(false);
    const lines: string[] = [];
    const logger = createLogger(
      "info",
      new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(chunk.toString("utf8")), done()) }),
    );
    logger.info({ route: "api" }, "first");
    logger.info("second");
    expect(lines.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual([
      expect.objectContaining({ msg: "first", route: "api" }),
      expect.objectContaining({ msg: "second" }),
    ]);
    expect(lines.join("")).not.toContain("trace_id");
    expect(await traceIdpCall("discovery", "corp", "GET", "https://idp.example.com/", async () => 42)).toBe(42);
    expect(receiver.spans().length).toBe(before);
  });
});
