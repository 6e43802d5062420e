// Trace on demand through the real Envoy, dev IdP and echo upstream: a request carrying the trace
// header from a trusted client address (Envoy's downstream peer, here 127.0.0.2) or with the secret
// is logged by the `serve` process as one "request trace" line joined to Envoy's x-request-id; any
// other is only decided; the upstream never sees the header and the log never holds the secret.
// Envoy's access log (envoy/demo.yaml's, with identity.metadata) has one line per request under the
// same request id: Envoy's route, Portcullis's route and, for a denial, its code; never the caller.
import { randomBytes, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpsRequest } from "../harness/httpsRequest.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const SECRET_ENV = "PORTCULLIS_E2E_TRACE_SECRET";
const SECRET = randomBytes(32).toString("base64url");
const HEADER = "x-portcullis-trace";
let stack: Stack;

beforeAll(async () => {
  // The secret reaches the serve process through its environment, as ${ENV} in the config file.
  process.env[SECRET_ENV] = SECRET;
  stack = await startStack({
    config: {
      identity: { metadata: { enabled: true } },
      log: {
        level: "info",
        traceRequests: { enabled: true, trustedAddresses: ["127.0.0.2/32"], secret: `\${${SECRET_ENV}}` },
      },
    },
  });
});

afterAll(async () => {
  await stack?.close();
});

/** Through Envoy from `from` (the client's own address); what the upstream got, found by a marker. */
async function send(path: string, headers: Record<string, string>, from = "127.0.0.1") {
  const marker = randomUUID();
  const response = await httpsRequest({
    port: stack.envoyPort,
    path,
    ca: stack.ca,
    headers: { "x-test-marker": marker, ...headers },
    localAddress: from,
  });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...response, upstream };
}

async function logText(): Promise<string> {
  return readFile(join(stack.dir, "portcullis.log"), "utf8");
}

async function traceLines(): Promise<Array<Record<string, unknown>>> {
  return (await logText())
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((l) => l["msg"] === "request trace");
}

/** Waits for the trace line of the request the upstream saw with `requestId`. */
async function traceOf(requestId: string): Promise<Record<string, unknown> | undefined> {
  let found: Record<string, unknown> | undefined;
  await waitUntil(
    async () => (found = (await traceLines()).find((l) => l["requestId"] === requestId)) !== undefined,
    10_000,
  );
  return found;
}

interface AccessLine {
  readonly request_id?: string;
  readonly path?: string;
  readonly status?: number | string;
  readonly details?: string;
  readonly route?: string | null;
  readonly auth_route?: string | null;
  readonly auth_code?: string | null;
}

/** Waits for Envoy's access-log lines of `path` (Envoy flushes its log about every 10 s). */
async function accessLinesOf(path: string): Promise<AccessLine[]> {
  let found: AccessLine[] = [];
  await waitUntil(async () => {
    found = (await readFile(join(stack.dir, "envoy.log"), "utf8"))
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as AccessLine)
      .filter((l) => l.path === path);
    return found.length > 0;
  }, 30_000);
  return found;
}

describe("Envoy's access log", () => {
  it("records an allowed request once under the request id the upstream got, with both routes and no denial code", async () => {
    const path = `/api/logged-${randomUUID()}`;
    const sub = `alice-${randomUUID()}`;
    const res = await send(path, { authorization: `Bearer ${await stack.signToken({ sub })}` });
    expect(res.status).toBe(200);
    const requestId = res.upstream?.headers["x-request-id"] as string;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);

    const lines = await accessLinesOf(path);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ request_id: requestId, status: 200, route: "upstream", auth_route: "api" });
    expect(lines[0]?.auth_code).toBeNull();
    // The caller is personal data: Envoy has it as metadata, the shipped format does not log it.
    expect(JSON.stringify(lines[0])).not.toContain(sub);
  });

  it("records a denial once with Portcullis's code, under the request id of Portcullis's own denial line", async () => {
    const path = `/api/refused-${randomUUID()}`;
    const res = await send(path, {});
    expect(res.status).toBe(401);
    expect(res.upstream).toBeUndefined();

    const lines = await accessLinesOf(path);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      status: 401,
      details: "ext_authz_denied",
      route: "upstream",
      auth_route: "api",
      auth_code: "token_missing",
    });
    const requestId = lines[0]?.request_id;
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    let denials: Array<Record<string, unknown>> = [];
    await waitUntil(async () => {
      denials = (await logText())
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .filter((l) => l["msg"] === "request denied" && l["requestId"] === requestId);
      return denials.length > 0;
    }, 10_000);
    expect(denials).toHaveLength(1);
    expect(denials[0]).toMatchObject({ code: "token_missing", route: "api" });
  });
});

describe("a request asking for its trace through Envoy", () => {
  it("with the secret is logged with its steps and decision under Envoy's request id, and the upstream never sees the header", async () => {
    const token = await stack.clientCredentialsToken();
    const res = await send("/api/things?page=2", { authorization: `Bearer ${token}`, [HEADER]: SECRET });

    expect(res.status).toBe(200);
    expect(res.upstream).toBeDefined();
    expect(res.upstream?.headers[HEADER]).toBeUndefined();
    const requestId = res.upstream?.headers["x-request-id"] as string;
    const line = await traceOf(requestId);
    expect(line).toMatchObject({
      level: "info",
      request: { method: "GET", host: "localhost", path: "/api/things?(query not shown)" },
      decision: { kind: "allow", route: "api", reason: "authenticated", provider: "demo" },
    });
    const steps = (line?.["trace"] as Array<{ step: string; outcome: string }>).map((e) => `${e.step}:${e.outcome}`);
    expect(steps).toEqual([
      "path:normalised",
      "rule:matches",
      "route:matched",
      "credential:verified",
      "requirements:none",
      "decision:allow",
    ]);
    const log = await logText();
    expect(log).not.toContain(SECRET);
    expect(log).not.toContain(token);
    expect(await stack.metric("portcullis_request_traces_total", { result: "traced" })).toBeGreaterThanOrEqual(1);
  });

  it("from a trusted client address is logged whatever the header's value, joined to its denial line by the request id", async () => {
    const before = (await traceLines()).length;
    const res = await send("/api/things", { [HEADER]: "please" }, "127.0.0.2");
    expect(res.status).toBe(401);
    let added: Array<Record<string, unknown>> = [];
    expect(await waitUntil(async () => (added = (await traceLines()).slice(before)).length >= 1, 10_000)).toBe(true);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatchObject({ decision: { kind: "deny", route: "api", code: "token_missing", status: 401 } });
    // The denial line is written after the answer, the trace line before it: wait for it too.
    const denialOf = async () =>
      (await logText())
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l["msg"] === "request denied" && l["requestId"] === added[0]?.["requestId"]);
    let denial: Record<string, unknown> | undefined;
    await waitUntil(async () => (denial = await denialOf()) !== undefined, 10_000);
    expect(denial).toMatchObject({ code: "token_missing", route: "api" });
  });

  it("from another address without the secret is only decided: no trace, the header still removed", async () => {
    const untrustedBefore = await stack.metric("portcullis_request_traces_total", { result: "untrusted" });
    const tracesBefore = (await traceLines()).length;
    const res = await send("/public/page", { [HEADER]: "not-the-secret" });

    expect(res.status).toBe(200);
    expect(res.upstream?.headers[HEADER]).toBeUndefined();
    expect(await stack.metric("portcullis_request_traces_total", { result: "untrusted" })).toBe(untrustedBefore + 1);
    expect((await traceLines()).length).toBe(tracesBefore);
  });

  it("from another address that names a trusted one in X-Forwarded-For, Forwarded or x-envoy-external-address is not traced", async () => {
    const untrustedBefore = await stack.metric("portcullis_request_traces_total", { result: "untrusted" });
    const tracesBefore = (await traceLines()).length;
    const res = await send("/public/page", {
      [HEADER]: "please",
      "x-forwarded-for": "127.0.0.2",
      forwarded: "for=127.0.0.2",
      "x-envoy-external-address": "127.0.0.2",
      "x-real-ip": "127.0.0.2",
    });

    expect(res.status).toBe(200);
    expect(res.upstream?.headers[HEADER]).toBeUndefined();
    expect(await stack.metric("portcullis_request_traces_total", { result: "untrusted" })).toBe(untrustedBefore + 1);
    expect((await traceLines()).length).toBe(tracesBefore);
  });
});
