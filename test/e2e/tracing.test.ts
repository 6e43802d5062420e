// OpenTelemetry tracing through the real Envoy: clients send W3C `traceparent` or B3 headers, Envoy
// passes them to Portcullis in the CheckRequest, and Portcullis (the real `serve`, tracing on)
// exports to an OTLP/HTTP receiver on loopback a Check span continuing that trace, with child spans
// for the JWKS refetch and the introspection a check waits for, and the trace id on its log lines.
// Traffic runs first; stopping Portcullis must flush every queued span. With tracing off (the
// default) nothing is exported even with an endpoint configured.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { importJWK, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
import { startDevIdp, type DevIdp } from "../../src/demo/startDevIdp.ts";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../harness/startOtlpReceiver.ts";
import { startStack, TEST_AUDIENCE, type Stack } from "../harness/startStack.ts";

const CHECK = "envoy.service.auth.v3.Authorization/Check";

/** A fresh sampled W3C context: 32 hex trace id, 16 hex parent span id. */
function context(): { traceId: string; parentId: string; traceparent: string } {
  const traceId = randomBytes(16).toString("hex");
  const parentId = randomBytes(8).toString("hex");
  return { traceId, parentId, traceparent: `00-${traceId}-${parentId}-01` };
}

function providerOf(idp: DevIdp) {
  return {
    issuer: idp.issuer,
    audiences: [TEST_AUDIENCE],
    allowInsecureHttp: true,
    discoveryTimeoutMs: 10_000,
    jwksTimeoutMs: 5000,
    requestTimeoutMs: 3000,
    // Every unknown kid refetches the keys, so a check waits for a JWKS fetch on demand.
    jwksCooldownSeconds: 0,
    clientId: idp.cliClient.id,
    clientSecret: idp.cliClient.secret,
    redirectUri: "https://localhost/oauth2/callback",
    introspection: { enabled: true, cacheTtlSeconds: 60 },
  };
}

describe("tracing on", () => {
  let receiver: OtlpReceiver;
  let idp: DevIdp;
  let stack: Stack;
  const w3c = context();
  const b3Single = context();
  const b3Multi = context();
  const unknownKid = context();
  const introspected = context();
  const denied = context();
  const tokens: string[] = [];
  const statuses: Record<string, number> = {};
  let log = "";

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    idp = await startDevIdp({ signingKeys: [await createSigningJwk()], audience: TEST_AUDIENCE });
    stack = await startStack({
      config: {
        providers: { demo: providerOf(idp) },
        session: { keys: [randomBytes(32).toString("base64url")] },
        tracing: {
          enabled: true,
          endpoint: receiver.url,
          serviceName: "portcullis-e2e",
          headers: { "x-collector-key": "e2e-key" },
        },
      },
    });
    const send = async (name: string, headers: Record<string, string>) => {
      statuses[name] = (await stack.request("/api/x", { headers })).status;
    };
    const jwt = await idp.mintUserToken("alice", ["api.read"]);
    const opaque = await idp.opaqueToken("alice", ["openid", "api.read"]);
    const stranger = await createSigningJwk("not-at-the-idp");
    const foreignKid = await new SignJWT({ sub: "alice", scope: "api.read" })
      .setProtectedHeader({ alg: "RS256", kid: stranger.kid })
      .setIssuer(idp.issuer)
      .setAudience(TEST_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime("5m")
      .sign(await importJWK(stranger, "RS256"));
    tokens.push(jwt, opaque, foreignKid);
    await send("w3c", { authorization: `Bearer ${jwt}`, traceparent: w3c.traceparent, tracestate: "e2e=1" });
    await send("b3Single", { authorization: `Bearer ${jwt}`, b3: `${b3Single.traceId}-${b3Single.parentId}-1` });
    await send("b3Multi", {
      authorization: `Bearer ${jwt}`,
      "x-b3-traceid": b3Multi.traceId,
      "x-b3-spanid": b3Multi.parentId,
      "x-b3-sampled": "1",
    });
    await send("unknownKid", { authorization: `Bearer ${foreignKid}`, traceparent: unknownKid.traceparent });
    await send("introspected", { authorization: `Bearer ${opaque}`, traceparent: introspected.traceparent });
    await send("denied", { traceparent: denied.traceparent });
    // SIGTERM: the spans are still queued (the SDK's batch delay is 5 s); a clean stop exports them.
    expect(await stack.stopPortcullis()).toBe(0);
    log = await readFile(join(stack.dir, "portcullis.log"), "utf8");
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
    await Promise.all([idp?.close(), receiver?.close()]);
  });

  const spansOf = (traceId: string): ReceivedSpan[] => receiver.spans().filter((s) => s.traceId === traceId);
  const checkSpanOf = (traceId: string): ReceivedSpan => {
    const checks = spansOf(traceId).filter((s) => s.name === CHECK);
    expect(checks, `Check spans of trace ${traceId}`).toHaveLength(1);
    return checks[0]!;
  };

  it("answers every request as without tracing", () => {
    expect(statuses).toEqual({
      w3c: 200,
      b3Single: 200,
      b3Multi: 200,
      unknownKid: 401,
      introspected: 200,
      denied: 401,
    });
  });

  it("continues the client's W3C traceparent in the Check span, with route, decision, reason and provider", () => {
    const span = checkSpanOf(w3c.traceId);
    expect(span).toMatchObject({ parentSpanId: w3c.parentId, kind: 2, statusCode: 0 });
    expect(span.attributes).toMatchObject({
      "portcullis.route": "api",
      "portcullis.decision": "allow",
      "portcullis.reason": "authenticated",
      "portcullis.provider": "demo",
      "portcullis.credential": "bearer",
    });
    expect(span.resource["service.name"]).toBe("portcullis-e2e");
  });

  it("continues B3 single-header and multi-header contexts", () => {
    expect(checkSpanOf(b3Single.traceId).parentSpanId).toBe(b3Single.parentId);
    expect(checkSpanOf(b3Multi.traceId).parentSpanId).toBe(b3Multi.parentId);
  });

  it("makes the JWKS refetch for an unknown kid a child of the Check span", () => {
    const check = checkSpanOf(unknownKid.traceId);
    expect(check.attributes).toMatchObject({
      "portcullis.decision": "deny",
      "portcullis.reason": "key_not_found",
      "http.response.status_code": 401,
    });
    const fetches = spansOf(unknownKid.traceId).filter((s) => s.name === "oidc.jwks_fetch");
    expect(fetches).toHaveLength(1);
    expect(fetches[0]).toMatchObject({ parentSpanId: check.spanId, kind: 3 });
    expect(fetches[0]!.attributes).toMatchObject({ "portcullis.provider": "demo", "http.request.method": "GET" });
    expect(String(fetches[0]!.attributes["url.full"])).toMatch(new RegExp(`^${idp.issuer}/`));
  });

  it("makes the introspection of an opaque token a child of the Check span, with its result", () => {
    const check = checkSpanOf(introspected.traceId);
    const calls = spansOf(introspected.traceId).filter((s) => s.name === "oidc.introspection");
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ parentSpanId: check.spanId, kind: 3 });
    expect(calls[0]!.attributes).toMatchObject({
      "portcullis.provider": "demo",
      "http.request.method": "POST",
      "portcullis.result": "active",
    });
  });

  it("exports discovery and the start-up key fetch as traces of their own", () => {
    const roots = receiver.spans().filter((s) => s.parentSpanId === "" && s.name.startsWith("oidc."));
    expect(roots.map((s) => s.name)).toEqual(expect.arrayContaining(["oidc.discovery", "oidc.jwks_fetch"]));
  });

  it("never exports a token, and sends the configured collector headers", () => {
    const exported = receiver.bodies().join("\n");
    for (const token of tokens) for (const part of token.split(".")) expect(exported).not.toContain(part);
    expect(receiver.requestHeaders().length).toBeGreaterThan(0);
    expect(receiver.requestHeaders().every((h) => h["x-collector-key"] === "e2e-key")).toBe(true);
  });

  it("writes the trace id on the log line of a denied check", () => {
    const lines = log
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const denial = lines.find((l) => l["msg"] === "request denied" && l["trace_id"] === denied.traceId);
    expect(denial).toMatchObject({ code: "token_missing", route: "api", span_id: checkSpanOf(denied.traceId).spanId });
  });
});

describe("tracing off (the default)", () => {
  it("exports nothing, even with an endpoint configured and a sampled traceparent", async () => {
    const receiver = await startOtlpReceiver();
    const stack = await startStack({ config: { tracing: { endpoint: receiver.url } } });
    try {
      const token = await stack.clientCredentialsToken();
      const { traceparent, traceId } = context();
      expect(
        (await stack.request("/api/x", { headers: { authorization: `Bearer ${token}`, traceparent } })).status,
      ).toBe(200);
      expect((await stack.request("/api/x", { headers: { traceparent } })).status).toBe(401);
      expect(await stack.stopPortcullis()).toBe(0);
      expect(receiver.requestHeaders()).toEqual([]);
      const log = await readFile(join(stack.dir, "portcullis.log"), "utf8");
      expect(log).not.toContain(traceId);
      expect(log).not.toContain("trace_id");
    } finally {
      await stack.close();
      await receiver.close();
    }
  }, 60_000);
});
