// Token exchange (RFC 8693) with Keycloak's standard token exchange (v2) behind the real Envoy and
// Portcullis: a confidential client with `standard.token.exchange.enabled` exchanges the caller's
// access token (whose aud names it) for one whose aud is the target client, and the upstream gets
// that token instead of the caller's; an audience Keycloak will not grant fails closed with 403.

import { randomBytes, randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { keycloakAdminApi, type KeycloakAdminApi, type KeycloakRealm } from "../harness/keycloakAdmin.ts";
import type { Stack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";
import { ALICE, BATCH_CLIENT, TESTS_CLIENT } from "./portcullisRealm.ts";
import { PROVIDER, startKeycloakStack, type KeycloakStack } from "./startKeycloakStack.ts";

/** The client Portcullis exchanges as. */
const EXCHANGER = { clientId: "portcullis-exchange", secret: randomBytes(24).toString("base64url") };
/** The upstream's client: the exchanger's audience mapper makes it available to exchanges. */
const ORDERS = "portcullis-orders";
/** A client no exchange may target: nothing makes it available to the exchanger. */
const PAYROLL = "portcullis-payroll";

const exchange = (audience: string) => ({
  enabled: true,
  audience: [audience],
  clientId: EXCHANGER.clientId,
  clientSecret: EXCHANGER.secret,
  // Keycloak on a loaded 2-core machine can take seconds per token call.
  timeoutMs: 5000,
});

const ROUTES = [
  { name: "orders", match: { path: "/orders" }, auth: "required", exchange: exchange(ORDERS) },
  { name: "payroll", match: { path: "/payroll" }, auth: "required", exchange: exchange(PAYROLL) },
];

let started: KeycloakStack;
let stack: Stack;
let realm: KeycloakRealm;

beforeAll(async () => {
  started = await startKeycloakStack(inject("keycloak"), { routes: ROUTES });
  ({ stack, realm } = started);
  await setUpExchange(keycloakAdminApi(inject("keycloak")), `/${encodeURIComponent(realm.name)}`);
});

afterAll(async () => {
  await started?.close();
});

/** The target clients, the exchanging client, and the exchanger in the aud of the tests client's tokens. */
async function setUpExchange(api: KeycloakAdminApi, realmPath: string): Promise<void> {
  const audienceMapper = (client: string) => ({
    name: `audience ${client}`,
    protocol: "openid-connect",
    protocolMapper: "oidc-audience-mapper",
    config: { "included.client.audience": client, "access.token.claim": "true", "id.token.claim": "false" },
  });
  for (const clientId of [ORDERS, PAYROLL])
    await api.request("POST", `${realmPath}/clients`, {
      clientId,
      publicClient: false,
      standardFlowEnabled: false,
      directAccessGrantsEnabled: false,
    });
  await api.request("POST", `${realmPath}/clients`, {
    clientId: EXCHANGER.clientId,
    secret: EXCHANGER.secret,
    publicClient: false,
    standardFlowEnabled: false,
    directAccessGrantsEnabled: false,
    attributes: { "standard.token.exchange.enabled": "true" },
    protocolMappers: [audienceMapper(ORDERS)],
  });
  const [tests] = await api.request<{ id: string }[]>("GET", `${realmPath}/clients?clientId=${TESTS_CLIENT.clientId}`);
  await api.request(
    "POST",
    `${realmPath}/clients/${tests!.id}/protocol-mappers/models`,
    audienceMapper(EXCHANGER.clientId),
  );
}

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")) as Record<string, unknown>;
}

async function send(path: string, token: string) {
  const marker = randomUUID();
  const res = await stack.request(path, { headers: { authorization: `Bearer ${token}`, "x-test-marker": marker } });
  const upstream = stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { status: res.status, error: (res.json as { error?: unknown } | undefined)?.error ?? null, upstream };
}

const exchanges = (result: string) => stack.metric("portcullis_token_exchanges_total", { provider: PROVIDER, result });

describe("a route with token exchange at Keycloak", () => {
  it("sends the upstream a token whose aud is the target client and whose sub is the caller's, never the caller's token", async () => {
    const caller = (await realm.passwordGrant(TESTS_CLIENT, ALICE.username, ALICE.password, "openid")).access_token;
    const res = await send("/orders/42", caller);
    expect(res.status).toBe(200);
    const authorization = String(res.upstream?.headers["authorization"]);
    expect(authorization).toMatch(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
    const exchanged = authorization.slice("Bearer ".length);
    expect(exchanged).not.toBe(caller);
    expect(JSON.stringify(res.upstream?.headers)).not.toContain(caller);
    const claims = claimsOf(exchanged);
    expect([claims["aud"]].flat()).toContain(ORDERS);
    expect([claims["aud"]].flat()).not.toContain("portcullis-api");
    expect(claims["sub"]).toBe(await realm.userId(ALICE.username));
    expect(claims["sub"]).toBe(claimsOf(caller)["sub"]);
    expect(claims["azp"]).toBe(EXCHANGER.clientId);
    expect(claims["iss"]).toBe(realm.issuer);
    expect(res.upstream?.headers["x-user-sub"]).toBe(claims["sub"]);
  });

  it("reuses the exchanged token for the caller's next request instead of asking Keycloak again", async () => {
    const caller = (await realm.passwordGrant(TESTS_CLIENT, ALICE.username, ALICE.password, "openid")).access_token;
    const first = await send("/orders/1", caller);
    const [exchangedBefore, hitsBefore] = [await exchanges("exchanged"), await exchanges("cache_hit")];
    const second = await send("/orders/2", caller);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.upstream?.headers["authorization"]).toBe(first.upstream?.headers["authorization"]);
    expect(await exchanges("exchanged")).toBe(exchangedBefore);
    expect(await exchanges("cache_hit")).toBe(hitsBefore + 1);
  });

  it("fails closed with 403 token_exchange_refused when Keycloak will not exchange for the route's audience", async () => {
    const caller = (await realm.passwordGrant(TESTS_CLIENT, ALICE.username, ALICE.password, "openid")).access_token;
    const refusedBefore = await exchanges("refused");
    const res = await send("/payroll/march", caller);
    expect({ status: res.status, error: res.error, reached: res.upstream !== undefined }).toEqual({
      status: 403,
      error: "token_exchange_refused",
      reached: false,
    });
    expect(await exchanges("refused")).toBe(refusedBefore + 1);
    // The denial is logged once with Keycloak's reason, and neither token appears in the log.
    // Portcullis writes its log asynchronously: wait for the denial's line to reach the file.
    let log = "";
    const denialLine = () => log.split("\n").find((line) => line.includes('"token_exchange_refused"'));
    expect(
      await waitUntil(async () => {
        log = await readFile(join(stack.dir, "portcullis.log"), "utf8");
        return denialLine() !== undefined;
      }, 10_000),
    ).toBe(true);
    expect(denialLine()).toMatch(/HTTP 400 \w+/);
    expect(log).not.toContain(caller);
    expect(log).not.toContain(EXCHANGER.secret);
  });

  it("fails closed with 403 for a caller whose token does not name the exchanging client in its aud", async () => {
    const machine = (await realm.clientCredentialsGrant(BATCH_CLIENT)).access_token;
    const res = await send("/orders/42", machine);
    expect({ status: res.status, error: res.error, reached: res.upstream !== undefined }).toEqual({
      status: 403,
      error: "token_exchange_refused",
      reached: false,
    });
  });
});
