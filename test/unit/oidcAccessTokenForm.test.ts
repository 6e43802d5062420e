// A bearer JWT is accepted only as an access token: ID tokens and logout tokens signed by the
// provider's own keys are refused. A sender-constrained token verifies with its `cnf` kept in the
// claims, so the gate can check its proof on every check (test/unit/tokenBinding.test.ts).
import { afterEach, describe, expect, it } from "vitest";
import type { ProviderConfig } from "../../src/config/PortcullisConfig.ts";
import { createProviderRegistry, type ProviderRegistry } from "../../src/oidc/ProviderRegistry.ts";
import {
  createSigningKey,
  providerConfig,
  signToken,
  startLoopbackIdp,
  type LoopbackIdp,
  type SigningKey,
} from "./oidcLoopbackIdp.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function setup(
  overrides: Partial<ProviderConfig> = {},
): Promise<{ idp: LoopbackIdp; key: SigningKey; registry: ProviderRegistry }> {
  const key = await createSigningKey("key-1");
  const idp = await startLoopbackIdp([key.publicJwk]);
  cleanups.push(() => idp.close());
  const registry = createProviderRegistry([providerConfig(idp.issuer, overrides)], { tokenCacheMaxEntries: 100 });
  cleanups.push(() => registry.close());
  await registry.start();
  return { idp, key, registry };
}

describe("sender-constrained tokens on the JWT path", () => {
  it.each([
    ["a DPoP-bound token (cnf.jkt)", { jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }],
    ["an mTLS-bound token (cnf x5t#S256)", { "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" }],
    ["a token with any other cnf", { kid: "some-key" }],
    ["a token whose cnf is not even an object", "bound"],
  ])("verifies %s with its cnf kept in the claims, for the gate to check its proof", async (_name, cnf) => {
    const { registry, idp, key } = await setup();
    const outcome = await registry.verify(await signToken(key, idp.issuer, { cnf }), []);
    expect(outcome).toMatchObject({ ok: true, provider: "demo", claims: { cnf } });
  });

  it("caches a sender-constrained token like any other: its proof belongs to each request, not to the cache", async () => {
    const { registry, idp, key } = await setup();
    const token = await signToken(key, idp.issuer, { cnf: { jkt: "abc" } });
    await registry.verify(token, []);
    expect(registry.verifyCached(token, [])).toMatchObject({ ok: true, claims: { cnf: { jkt: "abc" } } });
    expect(registry.cacheSize()).toBe(1);
  });
});

describe("ID tokens are not access tokens", () => {
  it.each([
    ["nonce", { nonce: "n-0S6_WzA2Mj" }],
    ["at_hash", { at_hash: "77QmUPtjPfzWtF2AnpK9RQ" }],
    ["c_hash", { c_hash: "LDktKdoQak3Pk0cnXxCltA" }],
  ])("refuses a bearer JWT carrying %s even when its aud is an accepted audience", async (_claim, claims) => {
    const { registry, idp, key } = await setup({ audiences: ["api", "login-client"], clientId: "login-client" });
    const outcome = await registry.verify(
      await signToken(key, idp.issuer, { aud: "login-client", roles: ["admin"], ...claims }),
      [],
    );
    expect(outcome).toMatchObject({ ok: false, code: "type_not_allowed" });
    if (!outcome.ok) expect(outcome.detail).toMatch(/ID token/);
  });

  it.each(["id_token", "application/id+jwt", "logout+jwt"])(
    "refuses a bearer JWT whose header typ is %s",
    async (typ) => {
      const { registry, idp, key } = await setup();
      expect(await registry.verify(await signToken(key, idp.issuer, {}, { typ }), [])).toMatchObject({
        ok: false,
        code: "type_not_allowed",
      });
    },
  );

  it.each(["ID", "Refresh", "Logout"])("refuses a Keycloak-style token whose typ claim is %s", async (typ) => {
    const { registry, idp, key } = await setup();
    expect(await registry.verify(await signToken(key, idp.issuer, { typ }), [])).toMatchObject({
      ok: false,
      code: "type_not_allowed",
    });
  });

  it("refuses a back-channel logout token signed by the provider's keys", async () => {
    const { registry, idp, key } = await setup();
    const events = { "http://schemas.openid.net/event/backchannel-logout": {} };
    expect(await registry.verify(await signToken(key, idp.issuer, { events, sid: "s1" }), [])).toMatchObject({
      ok: false,
      code: "type_not_allowed",
    });
  });

  it("accepts an access token with typ JWT, at+jwt or a typ claim of Bearer", async () => {
    const { registry, idp, key } = await setup();
    expect(await registry.verify(await signToken(key, idp.issuer, {}, { typ: "JWT" }), [])).toMatchObject({ ok: true });
    expect(await registry.verify(await signToken(key, idp.issuer, { sub: "u2" }, { typ: "at+jwt" }), [])).toMatchObject(
      { ok: true },
    );
    expect(await registry.verify(await signToken(key, idp.issuer, { typ: "Bearer" }), [])).toMatchObject({ ok: true });
  });

  it("accepts an ID token as the bearer credential of a provider whose access tokens are opaque (Google)", async () => {
    const { registry, idp, key } = await setup({ opaqueAccessTokens: true });
    expect(await registry.verify(await signToken(key, idp.issuer, { nonce: "n", at_hash: "h" }), [])).toMatchObject({
      ok: true,
    });
  });
});
