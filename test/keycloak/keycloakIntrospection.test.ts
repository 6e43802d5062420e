// Keycloak's token introspection endpoint (RFC 7662) behind the real Envoy and Portcullis, with a
// provider that introspects every token (`introspection.jwt: true`, no answer cache) as the
// confidential web client: a lightweight access token, whose JWT carries neither the user nor the
// roles, gets both from Keycloak; a token Keycloak revoked, or whose session an admin ended, is
// refused at the next request although its signature and `exp` are still good.

import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KeycloakRealm } from "../harness/keycloakAdmin.ts";
import type { Stack } from "../harness/startStack.ts";
import { ALICE, BOB, LIGHTWEIGHT_CLIENT } from "./portcullisRealm.ts";
import type { RealmUser } from "./portcullisRealm.ts";
import { PROVIDER, startKeycloakStack } from "./startKeycloakStack.ts";
import type { KeycloakStack } from "./startKeycloakStack.ts";

const ROUTES = [
  { name: "editor", match: { path: "/editor" }, auth: "required", require: { roles: ["editor"] } },
  { name: "api", match: { path: "/api" }, auth: "required" },
];

let started: KeycloakStack;
let stack: Stack;
let realm: KeycloakRealm;

beforeAll(async () => {
  started = await startKeycloakStack(inject("keycloak"), {
    routes: ROUTES,
    provider: { introspection: { enabled: true, jwt: true, cacheTtlSeconds: 0 } },
  });
  ({ stack, realm } = started);
});

afterAll(async () => {
  await started?.close();
});

async function lightweightToken(user: RealmUser): Promise<string> {
  return (await realm.passwordGrant(LIGHTWEIGHT_CLIENT, user.username, user.password, "openid profile email"))
    .access_token;
}

function claimsOf(jwt: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

async function send(path: string, token: string) {
  const marker = randomUUID();
  const res = await stack.request(path, { headers: { authorization: `Bearer ${token}`, "x-test-marker": marker } });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { status: res.status, error: (res.json as { error?: unknown } | undefined)?.error ?? null, upstream };
}

const introspections = (result: string) =>
  stack.metric("portcullis_introspections_total", { provider: PROVIDER, result });

describe("a lightweight Keycloak access token", () => {
  it("gets the user and the roles the JWT leaves out from Keycloak's introspection endpoint", async () => {
    const token = await lightweightToken(ALICE);
    const inToken = claimsOf(token);
    expect(inToken["sub"]).toBeUndefined();
    expect(inToken["resource_access"]).toBeUndefined();
    const active = await introspections("active");

    const res = await send("/editor/draft", token);
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-user-sub"]).toBe(await realm.userId(ALICE.username));
    expect(res.upstream?.headers["x-user-email"]).toBe("alice@example.com");
    expect(String(res.upstream?.headers["x-user-roles"]).split(",")).toEqual(
      expect.arrayContaining(["admin", "editor"]),
    );
    expect(await introspections("active")).toBe(active + 1);
  });

  it("of a user without the role is refused on the role-gated route with 403", async () => {
    const res = await send("/editor/draft", await lightweightToken(BOB));
    expect({ status: res.status, error: res.error, reached: res.upstream !== undefined }).toEqual({
      status: 403,
      error: "requirement_failed",
      reached: false,
    });
  });
});

describe("a token Keycloak no longer vouches for", () => {
  it("is refused with 401 token_inactive right after Keycloak revoked it (RFC 7009)", async () => {
    const token = await lightweightToken(ALICE);
    expect((await send("/api/items", token)).status).toBe(200);
    await realm.revoke(LIGHTWEIGHT_CLIENT, token);
    const res = await send("/api/items", token);
    expect({ status: res.status, error: res.error, reached: res.upstream !== undefined }).toEqual({
      status: 401,
      error: "token_inactive",
      reached: false,
    });
  });

  it("is refused with 401 token_inactive right after an admin signed the user out in Keycloak", async () => {
    const token = await lightweightToken(BOB);
    expect((await send("/api/items", token)).status).toBe(200);
    await realm.logoutUser(BOB.username);
    const res = await send("/api/items", token);
    expect({ status: res.status, error: res.error, reached: res.upstream !== undefined }).toEqual({
      status: 401,
      error: "token_inactive",
      reached: false,
    });
  });
});
