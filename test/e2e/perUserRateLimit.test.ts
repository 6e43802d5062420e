// The shipped envoy/per-user-rate-limit.yaml through real Envoy, on each gRPC transport: Portcullis
// answers with dynamic metadata (identity.metadata), Envoy's local rate limit gives each `sub` a
// bucket of its own from it, so alice is limited (429) after 3 requests while bob still passes, and
// the access log records who was let through from the same metadata; a denial's line records its
// route and code, and the caller only once verified (never the sub of a refused token).
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../harness/startStack.ts";
import { servedByTransport } from "../harness/servedByTransport.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const TEMPLATE = new URL("../../envoy/per-user-rate-limit.yaml", import.meta.url);
/** The shipped template's per-user bucket. */
const PER_USER = 3;

interface AccessLine {
  readonly path?: string;
  readonly status?: number | string;
  readonly user?: string | null;
  readonly client_id?: string | null;
  readonly auth_route?: string | null;
  readonly auth_code?: string | null;
}

describe.each(["net", "http2", "grpc-js"] as const)("per-user rate limits from dynamic metadata on %s", (transport) => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      envoyTemplate: TEMPLATE,
      config: {
        listen: { grpc: "127.0.0.1:0", grpcTransport: transport, auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
        identity: { metadata: { enabled: true } },
      },
      routes: [
        {
          name: "reports",
          match: { host: "localhost", path: "/reports" },
          auth: "required",
          require: { scopes: ["reports:read"] },
        },
        { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
        { name: "public", match: { host: "localhost", path: "/public" }, auth: "public" },
      ],
    });
  });
  afterAll(() => stack?.close());

  const get = (path: string, token?: string) =>
    stack.request(path, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } });

  async function accessLineFor(path: string): Promise<AccessLine> {
    let found: AccessLine | undefined;
    // Envoy flushes its access log about every 10 s.
    await waitUntil(async () => {
      const text = await readFile(join(stack.dir, "envoy.log"), "utf8");
      found = text
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as AccessLine)
        .find((line) => line.path === path);
      return found !== undefined;
    }, 30_000);
    if (found === undefined) throw new Error(`no access-log line for ${path}`);
    return found;
  }

  it(`is served by ${transport}`, async () => {
    expect(await servedByTransport(stack.portcullisGrpcPort)).toBe(transport);
  });

  it("limits alice after her own bucket is spent while bob and the public route still pass", async () => {
    const alice = await stack.signToken({ sub: `alice-${transport}` });
    const bob = await stack.signToken({ sub: `bob-${transport}` });
    for (let i = 0; i < PER_USER; i++) expect((await get(`/api/alice-${i}`, alice)).status).toBe(200);
    const limited = await get("/api/alice-over", alice);
    expect(limited.status).toBe(429);
    expect(limited.headers["x-rate-limited-by"]).toBe("per-user");
    expect(stack.upstream.requests().some((r) => r.path === "/api/alice-over")).toBe(false);
    // A new token of the same person shares the bucket: the limit is per user, not per token.
    expect((await get("/api/alice-again", await stack.signToken({ sub: `alice-${transport}` }))).status).toBe(429);
    expect((await get("/api/bob-0", bob)).status).toBe(200);
    // No sub, no per-user descriptor: a public route meets only the shared bucket.
    for (let i = 0; i <= PER_USER; i++) expect((await get(`/public/p-${i}`)).status).toBe(200);
  });

  it("records who was let through in Envoy's access log from the metadata, and nobody on a public route", async () => {
    const token = await stack.signToken({ sub: `carol-${transport}`, client_id: "reports" });
    expect((await get("/api/carol-logged", token)).status).toBe(200);
    expect((await get("/public/anyone-logged")).status).toBe(200);
    const line = await accessLineFor("/api/carol-logged");
    expect(line).toMatchObject({ user: `carol-${transport}`, client_id: "reports", auth_route: "api" });
    const anonymous = await accessLineFor("/public/anyone-logged");
    expect(anonymous.auth_route).toBe("public");
    expect(anonymous.user ?? "-").toBe("-");
  }, 45_000);

  it("records a denial's route and code in Envoy's access log, and the caller only once verified", async () => {
    expect((await get("/api/nobody-denied")).status).toBe(401);
    const expired = await stack.signToken({ sub: `mallory-${transport}`, exp: Math.floor(Date.now() / 1000) - 600 });
    expect((await get("/api/expired-denied", expired)).status).toBe(401);
    const dave = await stack.signToken({ sub: `dave-${transport}`, client_id: "reports-ui" });
    expect((await get("/reports/dave-denied", dave)).status).toBe(403);

    expect(await accessLineFor("/api/nobody-denied")).toMatchObject({
      status: 401,
      auth_route: "api",
      auth_code: "token_missing",
    });
    const refused = await accessLineFor("/api/expired-denied");
    expect(refused).toMatchObject({ status: 401, auth_route: "api", auth_code: "token_expired" });
    expect(refused.user ?? "-").toBe("-");
    expect(await accessLineFor("/reports/dave-denied")).toMatchObject({
      status: 403,
      auth_route: "reports",
      auth_code: "insufficient_scope",
      user: `dave-${transport}`,
      client_id: "reports-ui",
    });
  }, 45_000);
});
