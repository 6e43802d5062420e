// The IdP rotates its signing key: Portcullis picks the new key up with exactly one JWKS refetch,
// triggered by the first token carrying the unknown kid, and later tokens need no further fetch.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

let stack: Stack;

beforeAll(async () => {
  // No cooldown: the rotation happens seconds after the first fetch, as it can in a real outage.
  stack = await startStack({ provider: { jwksCooldownSeconds: 0 } });
});

afterAll(async () => {
  await stack?.close();
});

const fetches = () => stack.metric("portcullis_jwks_fetches_total", { provider: "demo" });
const callApi = async (token: string) =>
  (await stack.request("/api/rotation", { headers: { authorization: `Bearer ${token}` } })).status;

describe("IdP signing key rotation", () => {
  it("tokens signed with the new key pass after exactly one JWKS refetch", async () => {
    expect(await callApi(await stack.clientCredentialsToken())).toBe(200);
    const before = await fetches();

    await stack.restartIdpWithNewKeys();
    expect(await callApi(await stack.clientCredentialsToken())).toBe(200);
    expect(await callApi(await stack.clientCredentialsToken())).toBe(200);
    expect(await callApi(await stack.idp().mintUserToken("bob"))).toBe(200);

    expect(await fetches()).toBe(before + 1);
    expect(await stack.metric("portcullis_jwks_fetches_total", { provider: "demo", result: "ok" })).toBeGreaterThanOrEqual(2);
  });
});
