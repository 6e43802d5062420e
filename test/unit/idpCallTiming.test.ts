// portcullis_idp_request_duration_seconds for introspection: a real OpenID Provider's answers are
// timed as ok (active or not), an endpoint that never answers as timeout, a refused connection as
// error; labels are the configured provider name, the call and the outcome only.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createIntrospector, type IntrospectorOptions } from "../../src/oidc/createIntrospector.ts";
import { createMetrics, type Metrics } from "../../src/observability/Metrics.ts";
import { readMetric } from "../harness/readMetric.ts";
import {
  API_AUDIENCE,
  GATEWAY_CLIENT_ID,
  GATEWAY_CLIENT_SECRET,
  startIntrospectionOp,
  type IntrospectionOp,
} from "../harness/startIntrospectionOp.ts";

let op: IntrospectionOp;
let silent: Server;
beforeAll(async () => {
  op = await startIntrospectionOp({ accessTokenTtlSeconds: 600 });
  // Accepts the request and never answers: a fault the real provider cannot be made to produce.
  silent = createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
});
afterAll(async () => {
  silent?.closeAllConnections();
  await new Promise<void>((resolve) => (silent ? silent.close(() => resolve()) : resolve()));
  await op?.close();
});

function introspectorFor(metrics: Metrics, overrides: Partial<IntrospectorOptions> = {}) {
  return createIntrospector({
    providerName: "orders",
    endpoint: op.introspectionEndpoint,
    clientId: GATEWAY_CLIENT_ID,
    clientSecret: GATEWAY_CLIENT_SECRET,
    authMethod: "client_secret_basic",
    timeoutMs: 2000,
    cacheTtlSeconds: 0,
    maxEntries: 100,
    clockToleranceSeconds: 0,
    audiences: [API_AUDIENCE],
    issuer: op.issuer,
    allowInsecureHttp: true,
    observer: {
      introspection: (provider, result) => metrics.introspections.inc({ provider, result }),
      idpCall: (call, provider, outcome, seconds) =>
        metrics.idpRequestDuration.observe({ provider, call, outcome }, seconds),
    },
    ...overrides,
  });
}

describe("IdP call timing", () => {
  it("times introspections a real provider answers as ok, whether the token is active or not", async () => {
    const metrics = createMetrics();
    const introspector = introspectorFor(metrics);
    const token = (await op.clientCredentialsToken({ resource: true })).accessToken;
    expect((await introspector.introspect(token)).ok).toBe(true);
    expect((await introspector.introspect("not-a-token-the-provider-issued")).ok).toBe(false);
    const text = await metrics.registry.metrics();
    const at = (name: string, labels: Record<string, string>) => readMetric(text, name, labels);
    const ok = { provider: "orders", call: "introspection", outcome: "ok" };
    expect(at("portcullis_idp_request_duration_seconds_count", ok)).toBe(2);
    expect(at("portcullis_idp_request_duration_seconds_bucket", { ...ok, le: "10" })).toBe(2);
    expect(at("portcullis_idp_request_duration_seconds_sum", ok)).toBeGreaterThan(0);
    expect(text).toMatch(/^# TYPE portcullis_idp_request_duration_seconds histogram$/m);
  });

  it("times an introspection endpoint that never answers as timeout, and a refused connection as error", async () => {
    const metrics = createMetrics();
    const silentUrl = new URL(`http://127.0.0.1:${(silent.address() as AddressInfo).port}/introspect`);
    const hanging = introspectorFor(metrics, { endpoint: silentUrl, timeoutMs: 150 });
    await expect(hanging.introspect("some-opaque-token")).rejects.toThrow();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const closedUrl = new URL(`http://127.0.0.1:${(closed.address() as AddressInfo).port}/introspect`);
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = introspectorFor(metrics, { endpoint: closedUrl });
    await expect(refused.introspect("another-opaque-token")).rejects.toThrow();
    const text = await metrics.registry.metrics();
    const count = (outcome: string) =>
      readMetric(text, "portcullis_idp_request_duration_seconds_count", {
        provider: "orders",
        call: "introspection",
        outcome,
      });
    expect(count("timeout")).toBe(1);
    expect(count("error")).toBe(1);
    expect(count("ok")).toBe(0);
    // The timed-out call took about its timeout, not less.
    expect(
      readMetric(text, "portcullis_idp_request_duration_seconds_sum", { call: "introspection", outcome: "timeout" }),
    ).toBeGreaterThanOrEqual(0.14);
  });
});
