// The admin listener's session-control API (createAdminApi behind startAdminServer): off by default
// (404), the admin token before anything else (401, never logged), stable error codes with a
// detail, JSON with cache-control no-store, one metric and one audit line per request; "end all"
// without Redis records a subject revocation that this process applies at once.
import { Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import type { AdminApiSettings } from "../../src/app/createAdminApi.ts";
import { createAdminApi } from "../../src/app/createAdminApi.ts";
import { adminActionsCounter } from "../../src/observability/adminActionsCounter.ts";
import { startAdminServer, type AdminServer } from "../../src/observability/startAdminServer.ts";
import { createRevocationList, type RevocationList } from "../../src/session/createRevocationList.ts";
import { createSessionAdmin, type SessionAdmin } from "../../src/session/createSessionAdmin.ts";
import { SessionStoreUnavailableError } from "../../src/session/SessionStore.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { readMetric } from "../harness/readMetric.ts";

const TOKEN = "t".repeat(40);
const NOW_S = 1_800_000_000;

interface Running {
  readonly url: string;
  readonly registry: Registry;
  readonly lines: Array<{ level: string; obj: Record<string, unknown>; msg: string }>;
  readonly revocations: RevocationList;
}

let server: AdminServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

async function start(settings: Partial<AdminApiSettings> & { sessions?: SessionAdmin | null } = {}): Promise<Running> {
  const clock = createManualClock(NOW_S * 1000);
  const revocations = createRevocationList({ connection: null, jtiTtlSeconds: 600, clock });
  const registry = new Registry();
  const lines: Running["lines"] = [];
  const log = (level: string) => (obj: object, msg: string) =>
    lines.push({ level, obj: obj as Record<string, unknown>, msg });
  const sessions =
    settings.sessions === undefined
      ? createSessionAdmin({ connection: null, store: "cookie", revocations, lifetimeSeconds: 3600, clock })
      : settings.sessions;
  const full: AdminApiSettings = {
    enabled: true,
    token: TOKEN,
    providers: ["corp", "partner"],
    everyReplica: false,
    ...settings,
    sessions,
  };
  server = await startAdminServer({
    host: "127.0.0.1",
    port: 0,
    registry,
    notReadyReason: () => null,
    adminApi: createAdminApi({
      settings: () => full,
      counter: adminActionsCounter(registry),
      logger: { info: log("info"), warn: log("warn") },
    }),
  });
  return { url: `http://127.0.0.1:${server.port}`, registry, lines, revocations };
}

async function call(url: string, init: RequestInit & { token?: string | null } = {}) {
  const { token = TOKEN, ...rest } = init;
  const headers = new Headers(rest.headers);
  if (token !== null) headers.set("authorization", `Bearer ${token}`);
  const res = await fetch(url, { ...rest, headers });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

const revokeBody = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

function listable(overrides: Partial<SessionAdmin>): SessionAdmin {
  return {
    listable: true,
    list: async () => [],
    endSession: async () => "not_found",
    endSubject: async () => ({ revokedAt: NOW_S, deleted: 0 }),
    ...overrides,
  };
}

describe("the admin API", () => {
  it("is off by default: every /admin/ path answers 404 whatever the method, and /metrics stays GET-only", async () => {
    const { url } = await start({ enabled: false });
    expect((await call(`${url}/admin/sessions?sub=alice`)).status).toBe(404);
    expect((await call(`${url}/admin/users/revoke`, revokeBody({ sub: "alice" }))).status).toBe(404);
    expect((await call(`${url}/metrics`, { method: "DELETE" })).status).toBe(405);
    expect((await call(`${url}/metrics`)).status).toBe(200);
  });

  it("refuses a request without the admin token or with another one with 401 admin_token_invalid, logs no token and counts it", async () => {
    const { url, registry, lines } = await start();
    for (const token of [null, "wrong-token", `${TOKEN}x`, TOKEN.slice(1)]) {
      const res = await call(`${url}/admin/users/revoke`, { ...revokeBody({ sub: "alice" }), token });
      expect(res.status).toBe(401);
      expect(res.json()).toMatchObject({ error: "admin_token_invalid" });
      expect(res.headers.get("www-authenticate")).toBe('Bearer realm="admin"');
      expect(res.headers.get("cache-control")).toBe("no-store");
    }
    // An unknown path is not told apart from a known one before the token is checked.
    expect((await call(`${url}/admin/nothing-here`, { token: null })).status).toBe(401);
    const text = await registry.metrics();
    expect(
      readMetric(text, "portcullis_admin_actions_total", { action: "end_user_sessions", result: "unauthorized" }),
    ).toBe(4);
    expect(lines.every((l) => l.level === "warn" && l.msg === "admin request refused")).toBe(true);
    expect(JSON.stringify(lines)).not.toContain("tttt");
  });

  it("ends every session of a user created until now without Redis: this process refuses them at once, a later login passes", async () => {
    const { url, revocations, registry, lines } = await start();
    const res = await call(`${url}/admin/users/revoke`, revokeBody({ sub: "alice", provider: "corp" }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.json()).toEqual({
      sub: "alice",
      providers: ["corp"],
      revokedAt: NOW_S,
      sessionsDeleted: 0,
      everyReplica: false,
    });
    const session = { id: "s1", provider: "corp", sid: null, sub: "alice" };
    expect(revocations.isRevoked({ ...session, createdAt: NOW_S - 10 })).toBe(true);
    expect(revocations.isRevoked({ ...session, createdAt: NOW_S + 1 })).toBe(false);
    expect(revocations.isRevoked({ ...session, provider: "partner", createdAt: NOW_S - 10 })).toBe(false);
    expect(revocations.isRevoked({ ...session, sub: "bob", createdAt: NOW_S - 10 })).toBe(false);
    expect(
      readMetric(await registry.metrics(), "portcullis_admin_actions_total", {
        action: "end_user_sessions",
        result: "ok",
      }),
    ).toBe(1);
    expect(lines).toContainEqual({
      level: "info",
      msg: "admin action",
      obj: {
        admin: "end_user_sessions",
        by: "admin token",
        from: "127.0.0.1",
        result: "ok",
        sub: "alice",
        providers: ["corp"],
        sessionsDeleted: 0,
      },
    });
  });

  it("ends the user's sessions at every configured provider when no provider is named", async () => {
    const { url, revocations } = await start();
    const res = await call(`${url}/admin/users/revoke`, revokeBody({ sub: "alice" }));
    expect(res.json()).toMatchObject({ providers: ["corp", "partner"] });
    for (const provider of ["corp", "partner"])
      expect(revocations.isRevoked({ id: "s", provider, sid: null, sub: "alice", createdAt: NOW_S })).toBe(true);
  });

  it("answers 409 sessions_not_listable for listing or ending one session with cookie sessions", async () => {
    const { url } = await start();
    const list = await call(`${url}/admin/sessions?sub=alice`);
    expect(list.status).toBe(409);
    expect(list.json()).toMatchObject({ error: "sessions_not_listable", detail: "session.store is cookie" });
    expect((await call(`${url}/admin/sessions/corp.abcdefghijklmnop`, { method: "DELETE" })).status).toBe(409);
  });

  it.each([
    [{ provider: "corp" }, "sub is required"],
    [{ sub: "" }, "sub is required"],
    [{ sub: "alice", provider: "nobody" }, 'provider "nobody" is not configured'],
    [{ sub: "alice", provider: 7 }, "provider must be a string"],
    [{ sub: "alice", extra: true }, 'unknown field "extra"'],
    [{ sub: "a\u0000b" }, "sub must be at most 1024 characters, without control characters"],
    [[1, 2], "the body must be a JSON object"],
  ])("refuses the revoke body %j with 400 admin_request_invalid and says why", async (body, detail) => {
    const { url } = await start();
    const res = await call(`${url}/admin/users/revoke`, revokeBody(body));
    expect(res.status).toBe(400);
    expect(res.json()).toEqual({
      error: "admin_request_invalid",
      error_description: "the admin request is not valid",
      detail,
    });
  });

  it("refuses a revoke body that is not small JSON", async () => {
    const { url } = await start();
    const plain = await call(`${url}/admin/users/revoke`, { method: "POST", body: "sub=alice" });
    expect(plain.json()).toMatchObject({ detail: "the body must be application/json" });
    const big = await call(`${url}/admin/users/revoke`, revokeBody({ sub: "a".repeat(5000) }));
    expect(big.json()).toMatchObject({ detail: "the body must be at most 4096 bytes" });
  });

  it("answers an unknown admin path 404 and a known one asked with another method 405 with Allow", async () => {
    const { url } = await start();
    const missing = await call(`${url}/admin/users`);
    expect([missing.status, missing.json()["error"]]).toEqual([404, "not_found"]);
    const wrong = await call(`${url}/admin/sessions`, { method: "DELETE" });
    expect([wrong.status, wrong.json()["error"], wrong.headers.get("allow")]).toEqual([
      405,
      "method_not_allowed",
      "GET",
    ]);
    expect((await call(`${url}/admin/users/revoke`)).headers.get("allow")).toBe("POST");
  });

  it("lists the user's sessions as the store gives them, and ends one by its handle", async () => {
    const listed = {
      handle: "corp.abcdefghijklmnop",
      provider: "corp",
      createdAt: NOW_S - 60,
      lastSeenAt: null,
      expiresAt: NOW_S + 3600,
      userAgentDigest: "AbCdEfGhIjKl",
    };
    const asked: unknown[] = [];
    const { url } = await start({
      sessions: listable({
        list: async (sub, providers) => {
          asked.push([sub, providers]);
          return [listed];
        },
        endSession: async (handle) => (handle === listed.handle ? "ended" : "not_found"),
      }),
    });
    const res = await call(`${url}/admin/sessions?sub=alice&provider=partner`);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.json()).toEqual({ sub: "alice", sessions: [listed] });
    expect(asked).toEqual([["alice", ["partner"]]]);
    const ended = await call(`${url}/admin/sessions/${listed.handle}`, { method: "DELETE" });
    expect([ended.status, ended.json()]).toEqual([200, { handle: listed.handle, ended: true }]);
    const gone = await call(`${url}/admin/sessions/corp.zzzzzzzzzzzzzzzzzz`, { method: "DELETE" });
    expect([gone.status, gone.json()["error"]]).toEqual([404, "session_not_found"]);
  });

  it("answers 503 session_store_unavailable when Redis does not answer, and 409 admin_needs_redis where nothing can be shared", async () => {
    const failing = await start({
      sessions: listable({
        list: async () => {
          throw new SessionStoreUnavailableError("Redis session admin failed: timeout");
        },
      }),
    });
    const res = await call(`${failing.url}/admin/sessions?sub=alice`);
    expect([res.status, res.json()["error"]]).toEqual([503, "session_store_unavailable"]);
    await server?.close();
    server = null;
    const unshared = await start({ sessions: null });
    const refused = await call(`${unshared.url}/admin/users/revoke`, revokeBody({ sub: "alice" }));
    expect([refused.status, refused.json()["error"]]).toEqual([409, "admin_needs_redis"]);
  });
});
