// The IdP rotates its signing key: Portcullis picks the new key up with exactly one JWKS refetch,
// triggered by the first token carrying the unknown kid, and later tokens need no further fetch.
// The IdP drops a key (the way a compromised key is revoked): a token it signed, already verified
// and cached, is refused within one background refresh interval.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack } from "../harness/startStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";
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
    expect(
      await stack.metric("portcullis_jwks_fetches_total", { provider: "demo", result: "ok" }),
    ).toBeGreaterThanOrEqual(2);
  });
});

describe("IdP signing key removal", () => {
  const refreshSeconds = 10; // the schema's minimum jwksMaxAgeSeconds

  it("refuses a cached token within one refresh interval after the IdP drops the key that signed it", async () => {
    // An hour's cooldown: only the background refresh can notice the removal.
    const revoking = await startStack({ provider: { jwksMaxAgeSeconds: refreshSeconds, jwksCooldownSeconds: 3600 } });
    try {
      const token = await revoking.clientCredentialsToken();
      const call = async () =>
        (await revoking.request("/api/rotation", { headers: { authorization: `Bearer ${token}` } })).status;
      expect(await call()).toBe(200);
      const hits = await revoking.metric("portcullis_token_cache_lookups_total", { result: "hit" });
      expect(await call()).toBe(200);
      expect(await revoking.metric("portcullis_token_cache_lookups_total", { result: "hit" })).toBe(hits + 1);

      await revoking.restartIdpWithNewKeys();
      const dropped = Date.now();
      // One refresh interval (refreshes run at 80-100 % of it), plus slack for a loaded machine.
      expect(await waitUntil(async () => (await call()) === 401, refreshSeconds * 1000 + 8000, 250)).toBe(true);
      expect(Date.now() - dropped).toBeLessThan(refreshSeconds * 1000 + 8000);
      const denied = await revoking.request("/api/rotation", { headers: { authorization: `Bearer ${token}` } });
      expect((denied.json as { error?: string }).error).toBe("key_not_found");
      // A token signed with the new key is accepted.
      const fresh = await revoking.clientCredentialsToken();
      expect((await revoking.request("/api/rotation", { headers: { authorization: `Bearer ${fresh}` } })).status).toBe(
        200,
      );
    } finally {
      await revoking.close();
    }
  }, 120_000);
});
