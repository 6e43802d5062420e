// Service-to-service callers through the real Envoy and the dev IdP's two machine clients
// (client-credentials tokens from demo-cli and demo-batch): machine-only and person-only routes,
// routes pinned to one client id, the same scope rules as people, and the headers the upstream
// gets: x-client-id, and no x-user-* invented for a machine (nor passed through from the client).

import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_BATCH_CLIENT_ID, DEMO_CLIENT_ID, DEMO_WEB_CLIENT_ID } from "../../src/demo/startDevIdp.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

const ROUTES = [
  {
    name: "batch",
    match: { host: "localhost", path: "/batch" },
    auth: "required",
    require: { principal: "client", clients: [DEMO_BATCH_CLIENT_ID] },
  },
  {
    name: "machines",
    match: { host: "localhost", path: "/machines" },
    auth: "required",
    require: { principal: "client" },
  },
  { name: "people", match: { host: "localhost", path: "/people" }, auth: "required", require: { principal: "user" } },
  {
    name: "writes",
    match: { host: "localhost", path: "/writes" },
    auth: "required",
    require: { scopes: ["api.write"] },
  },
  { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
];

/** Identity headers that describe a person; a machine caller must never produce one upstream. */
const PERSON_HEADERS = ["x-user-sub", "x-user-email", "x-user-roles", "x-user-context"] as const;

let stack: Stack;
let batchToken: string;
let cliToken: string;

beforeAll(async () => {
  stack = await startStack({ routes: ROUTES });
  [batchToken, cliToken] = await Promise.all([
    stack.idp().clientCredentialsToken(undefined, DEMO_BATCH_CLIENT_ID),
    stack.idp().clientCredentialsToken(undefined, DEMO_CLIENT_ID),
  ]);
});

afterAll(async () => {
  await stack?.close();
});

async function send(path: string, token: string, extraHeaders: Record<string, string> = {}) {
  const marker = randomUUID();
  const res = await stack.request(path, {
    headers: { authorization: `Bearer ${token}`, "x-test-marker": marker, ...extraHeaders },
  });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { ...res, error: (res.json as { error?: unknown } | undefined)?.error ?? null, upstream };
}

describe("a route for one machine client (principal: client, clients: [demo-batch])", () => {
  it("admits demo-batch, and the upstream sees x-client-id and no x-user-* header", async () => {
    const before = await stack.metric("portcullis_checks_total", { route: "batch", decision: "allow" });
    const res = await send("/batch/run", batchToken);
    expect(res.status).toBe(200);
    expect(res.upstream).toBeDefined();
    expect(res.upstream?.headers["x-client-id"]).toBe(DEMO_BATCH_CLIENT_ID);
    for (const name of PERSON_HEADERS) expect(res.upstream?.headers[name], name).toBeUndefined();
    expect(res.upstream?.headers["authorization"]).toBeUndefined();
    expect(await stack.metric("portcullis_checks_total", { route: "batch", decision: "allow" })).toBe(before + 1);
  });

  it("refuses the other machine client, demo-cli, with 403", async () => {
    const res = await send("/batch/run", cliToken);
    expect(res.status).toBe(403);
    expect(res.error).toBe("requirement_failed");
    expect(res.upstream).toBeUndefined();
  });

  it("refuses a person's token, even one issued to a client", async () => {
    const res = await send("/batch/run", await stack.idp().mintUserToken("alice"));
    expect(res.status).toBe(403);
    expect(res.error).toBe("requirement_failed");
    expect(res.upstream).toBeUndefined();
  });
});

describe("a machine-only route (principal: client)", () => {
  it("admits both machine clients and refuses a person", async () => {
    expect((await send("/machines", batchToken)).status).toBe(200);
    expect((await send("/machines", cliToken)).status).toBe(200);
    const person = await send("/machines", await stack.idp().mintUserToken("bob"));
    expect([person.status, person.error]).toEqual([403, "requirement_failed"]);
  });
});

describe("a person-only route (principal: user)", () => {
  it("refuses both machine clients with 403", async () => {
    const before = await stack.metric("portcullis_checks_total", {
      route: "people",
      decision: "deny",
      reason: "requirement_failed",
    });
    for (const token of [batchToken, cliToken]) {
      const res = await send("/people", token);
      expect([res.status, res.error, res.upstream]).toEqual([403, "requirement_failed", undefined]);
    }
    expect(
      await stack.metric("portcullis_checks_total", {
        route: "people",
        decision: "deny",
        reason: "requirement_failed",
      }),
    ).toBe(before + 2);
  });

  it("admits a person, whose upstream headers carry x-user-sub and the client the token was issued to", async () => {
    const res = await send("/people", await stack.idp().mintUserToken("alice"));
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-user-sub"]).toBe("alice");
    expect(res.upstream?.headers["x-user-email"]).toBe("alice@example.com");
    expect(res.upstream?.headers["x-client-id"]).toBe(DEMO_WEB_CLIENT_ID);
  });
});

describe("machine tokens meet the same requirements as people's", () => {
  it("demo-batch (api.read only) gets 403 insufficient_scope on a route needing api.write; demo-cli passes", async () => {
    const batch = await send("/writes", batchToken);
    expect([batch.status, batch.error]).toEqual([403, "insufficient_scope"]);
    expect(String(batch.headers["www-authenticate"])).toContain('scope="api.write"');
    expect((await send("/writes", cliToken)).status).toBe(200);
  });
});

describe("identity headers a machine caller sends itself", () => {
  it("never reach the upstream: x-client-id is Portcullis's, x-user-* are removed", async () => {
    const res = await send("/api/x", batchToken, {
      "x-client-id": "forged-client",
      "x-user-sub": "attacker",
      "x-user-email": "attacker@example.com",
      "x-user-roles": "admin",
      "x-user-context": Buffer.from(JSON.stringify({ id: "attacker" })).toString("base64"),
    });
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-client-id"]).toBe(DEMO_BATCH_CLIENT_ID);
    for (const name of PERSON_HEADERS) expect(res.upstream?.headers[name], name).toBeUndefined();
    expect(JSON.stringify(res.upstream?.headers)).not.toContain("attacker");
    expect(JSON.stringify(res.upstream?.headers)).not.toContain("forged-client");
  });
});
