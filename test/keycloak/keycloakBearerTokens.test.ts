// Keycloak's own access tokens through the real Envoy and Portcullis, verified locally against the
// realm's keys: realm roles (`realm_access.roles`) and the web client's roles (`resource_access`)
// as x-user-roles and in route requirements, Keycloak groups, a client-credentials token on a
// machine route, and a password-level token on a route that needs the one-time-code level.
// Keycloak gives a service account a user-like `sub`, so Portcullis reads its tokens as a person's
// (src/core/isMachinePrincipal.ts): the machine route names the client (`require.clients`) instead
// of `principal: client`, as that module advises.

import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { KeycloakRealm } from "../harness/keycloakAdmin.ts";
import type { Stack } from "../harness/startStack.ts";
import { ACR_SECOND_FACTOR, ALICE, BATCH_CLIENT, BOB, TESTS_CLIENT, WEB_CLIENT } from "./portcullisRealm.ts";
import type { RealmUser } from "./portcullisRealm.ts";
import { startKeycloakStack } from "./startKeycloakStack.ts";
import type { KeycloakStack } from "./startKeycloakStack.ts";

const ROUTES = [
  { name: "admin", match: { path: "/admin" }, auth: "required", require: { roles: ["admin"] } },
  { name: "editor", match: { path: "/editor" }, auth: "required", require: { roles: ["editor"] } },
  { name: "engineering", match: { path: "/engineering" }, auth: "required", require: { groups: ["engineering"] } },
  {
    name: "batch",
    match: { path: "/batch" },
    auth: "required",
    require: { clients: [BATCH_CLIENT.clientId], roles: ["batch.ingest"] },
  },
  { name: "secure", match: { path: "/secure" }, auth: "required", require: { acr: [ACR_SECOND_FACTOR] } },
  { name: "api", match: { path: "/api" }, auth: "required" },
];

let started: KeycloakStack;
let stack: Stack;
let realm: KeycloakRealm;

beforeAll(async () => {
  started = await startKeycloakStack(inject("keycloak"), { routes: ROUTES });
  ({ stack, realm } = started);
});

afterAll(async () => {
  await started?.close();
});

async function userToken(user: RealmUser): Promise<string> {
  return (await realm.passwordGrant(TESTS_CLIENT, user.username, user.password, "openid profile email")).access_token;
}

async function send(path: string, token: string) {
  const marker = randomUUID();
  const res = await stack.request(path, { headers: { authorization: `Bearer ${token}`, "x-test-marker": marker } });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return {
    status: res.status,
    headers: res.headers,
    error: (res.json as { error?: unknown } | undefined)?.error ?? null,
    upstream,
  };
}

describe("a person's Keycloak access token", () => {
  it("is admitted with the user's Keycloak id, email, realm roles and the web client's roles as identity headers", async () => {
    const res = await send("/api/me", await userToken(ALICE));
    expect(res.status).toBe(200);
    const headers = res.upstream?.headers ?? {};
    expect(headers["x-user-sub"]).toBe(await realm.userId(ALICE.username));
    expect(headers["x-user-email"]).toBe("alice@example.com");
    const roles = String(headers["x-user-roles"]).split(",");
    expect(roles).toEqual(expect.arrayContaining(["admin", "user", "editor"]));
    expect(headers["x-client-id"]).toBe(TESTS_CLIENT.clientId);
    const context = JSON.parse(Buffer.from(String(headers["x-user-context"]), "base64").toString("utf8")) as {
      roles: string[];
    };
    expect(context.roles).toEqual(expect.arrayContaining(["admin", "editor"]));
  });

  it("meets a realm-role requirement from realm_access.roles: alice (admin) passes, bob gets 403", async () => {
    expect((await send("/admin/panel", await userToken(ALICE))).status).toBe(200);
    const bob = await send("/admin/panel", await userToken(BOB));
    expect({ status: bob.status, error: bob.error, reached: bob.upstream !== undefined }).toEqual({
      status: 403,
      error: "requirement_failed",
      reached: false,
    });
  });

  it(`meets a client-role requirement from resource_access.${WEB_CLIENT.clientId}.roles: alice (editor) passes, bob gets 403`, async () => {
    expect((await send("/editor/draft", await userToken(ALICE))).status).toBe(200);
    const bob = await send("/editor/draft", await userToken(BOB));
    expect({ status: bob.status, error: bob.error }).toEqual({ status: 403, error: "requirement_failed" });
  });

  it("meets a group requirement from Keycloak's groups claim: alice (engineering) passes, bob (customers) gets 403", async () => {
    expect((await send("/engineering/wiki", await userToken(ALICE))).status).toBe(200);
    const bob = await send("/engineering/wiki", await userToken(BOB));
    expect({ status: bob.status, error: bob.error }).toEqual({ status: 403, error: "requirement_failed" });
  });

  it("at the password level gets 401 insufficient_user_authentication with acr_values naming the one-time-code level", async () => {
    const res = await send("/secure/keys", await userToken(ALICE));
    expect(res.status).toBe(401);
    const challenge = String(res.headers["www-authenticate"]);
    expect(challenge).toMatch(/^Bearer /);
    expect(challenge).toContain('error="insufficient_user_authentication"');
    expect(challenge).toContain(`acr_values="${ACR_SECOND_FACTOR}"`);
    expect(res.upstream).toBeUndefined();
  });

  it("is refused on the machine route with 403", async () => {
    const res = await send("/batch/run", await userToken(ALICE));
    expect({ status: res.status, error: res.error, reached: res.upstream !== undefined }).toEqual({
      status: 403,
      error: "requirement_failed",
      reached: false,
    });
  });
});

describe("the machine client's client-credentials token", () => {
  it("is admitted on the machine route by its client id and its client role, and the upstream gets x-client-id", async () => {
    const token = (await realm.clientCredentialsGrant(BATCH_CLIENT)).access_token;
    const res = await send("/batch/run", token);
    expect(res.status).toBe(200);
    expect(res.upstream?.headers["x-client-id"]).toBe(BATCH_CLIENT.clientId);
    expect(String(res.upstream?.headers["x-user-roles"]).split(",")).toContain("batch.ingest");
  });
});
