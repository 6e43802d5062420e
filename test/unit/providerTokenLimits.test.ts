// A provider's maxTokenLifetimeSeconds and subjects: a token issued to live longer than the limit
// is refused as token_lifetime_too_long, and so is one that says not when it was issued or expires
// (fail closed); a token whose sub is not listed is refused as subject_not_allowed. Both hold for
// introspected tokens too, and bearer revocations are kept at least as long as the longest limit.
import { afterEach, describe, expect, it } from "vitest";
import type { ProviderConfig } from "../../src/config/PortcullisConfig.ts";
import { revocationLifetimeSeconds } from "../../src/login/revocationLifetimeSeconds.ts";
import { createIssuerPolicy } from "../../src/oidc/createIssuerPolicy.ts";
import { judgeIntrospection, type IntrospectionRules } from "../../src/oidc/judgeIntrospection.ts";
import { createProviderRegistry, type ProviderRegistry } from "../../src/oidc/ProviderRegistry.ts";
import { createSigningKey, providerConfig, signToken, type SigningKey } from "./oidcLoopbackIdp.ts";

const ISSUER = "https://idp.example.com";
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function registryWith(
  overrides: Partial<ProviderConfig>,
): Promise<{ registry: ProviderRegistry; key: SigningKey }> {
  const key = await createSigningKey("k1");
  const config = providerConfig(ISSUER, {
    discovery: false,
    staticKeys: { jwks: JSON.stringify({ keys: [key.publicJwk] }), jwksFile: null, pem: null },
    ...overrides,
  });
  const registry = createProviderRegistry([config], { tokenCacheMaxEntries: 10 });
  cleanups.push(() => registry.close());
  await registry.start();
  return { registry, key };
}

describe("maxTokenLifetimeSeconds", () => {
  it("accepts a token issued for exactly the limit and refuses one issued for a second longer", async () => {
    const { registry, key } = await registryWith({ maxTokenLifetimeSeconds: 900 });
    const now = Math.floor(Date.now() / 1000);
    const atLimit = await signToken(key, ISSUER, { iat: now, exp: now + 900 });
    const over = await signToken(key, ISSUER, { iat: now, exp: now + 901 });
    expect(await registry.verify(atLimit, [])).toMatchObject({ ok: true });
    expect(await registry.verify(over, [])).toMatchObject({
      ok: false,
      code: "token_lifetime_too_long",
      detail: "token lifetime 901 s exceeds the provider's maxTokenLifetimeSeconds 900",
    });
  });

  it("refuses a token without iat when a lifetime limit is set, and accepts it without one", async () => {
    const limited = await registryWith({ maxTokenLifetimeSeconds: 900 });
    const noIat = await signToken(limited.key, ISSUER, { iat: undefined });
    expect(await limited.registry.verify(noIat, [])).toMatchObject({ ok: false, code: "token_lifetime_too_long" });
    const unlimited = await registryWith({});
    const alsoNoIat = await signToken(unlimited.key, ISSUER, { iat: undefined });
    expect(await unlimited.registry.verify(alsoNoIat, [])).toMatchObject({ ok: true });
  });
});

describe("subjects", () => {
  it("accepts a listed subject and refuses any other without naming it", async () => {
    const { registry, key } = await registryWith({ subjects: ["billing-batch"] });
    expect(await registry.verify(await signToken(key, ISSUER, { sub: "billing-batch" }), [])).toMatchObject({
      ok: true,
    });
    const other = await registry.verify(await signToken(key, ISSUER, { sub: "someone-else" }), []);
    expect(other).toMatchObject({ ok: false, code: "subject_not_allowed" });
    expect(JSON.stringify(other)).not.toContain("someone-else");
    const none = await registry.verify(await signToken(key, ISSUER, { sub: undefined }), []);
    expect(none).toMatchObject({ ok: false, code: "subject_not_allowed" });
  });
});

describe("limits on introspected tokens", () => {
  const rules = (limits: IntrospectionRules["tokenLimits"]): IntrospectionRules => ({
    provider: "corp",
    audiences: new Set(["api"]),
    requireAudience: true,
    audienceClaim: "aud",
    issuers: createIssuerPolicy({ issuer: ISSUER }),
    formRules: { idTokensAreBearer: false },
    accessTokenClaims: undefined,
    requireAccessTokenType: false,
    toleranceSeconds: 60,
    tokenLimits: limits,
    trustMs: 60_000,
    denialTrustMs: 30_000,
  });
  const nowMs = Date.parse("2026-01-01T00:00:00Z");
  const now = nowMs / 1000;
  const answer = { active: true, iss: ISSUER, aud: "api", sub: "svc-a", iat: now, exp: now + 3600 };

  it("refuses an active answer whose exp − iat exceeds the limit, or that has no exp", () => {
    const limited = rules({ maxTokenLifetimeSeconds: 600, subjects: null });
    expect(judgeIntrospection(limited, answer, "opaque", nowMs).outcome).toMatchObject({
      ok: false,
      code: "token_lifetime_too_long",
    });
    const { exp: _exp, ...noExp } = answer;
    expect(judgeIntrospection(limited, noExp, "opaque", nowMs).outcome).toMatchObject({
      code: "token_lifetime_too_long",
    });
    expect(judgeIntrospection(rules({}), answer, "opaque", nowMs).outcome).toMatchObject({ ok: true });
  });

  it("refuses an active answer whose sub is not listed", () => {
    const outcome = judgeIntrospection(rules({ subjects: ["svc-b"] }), answer, "opaque", nowMs).outcome;
    expect(outcome).toMatchObject({ ok: false, code: "subject_not_allowed" });
  });
});

describe("how long bearer revocations are kept", () => {
  const session = { lifetimeSeconds: 3600, maxTokenLifetimeSeconds: 7200 };

  it("covers the longest provider maxTokenLifetimeSeconds when it exceeds the session settings", () => {
    expect(
      revocationLifetimeSeconds(session, [{ maxTokenLifetimeSeconds: 900 }, { maxTokenLifetimeSeconds: 43_200 }]),
    ).toBe(43_200);
  });

  it("keeps the session settings' longer span when no provider limit is longer", () => {
    expect(
      revocationLifetimeSeconds(session, [{ maxTokenLifetimeSeconds: 900 }, { maxTokenLifetimeSeconds: null }]),
    ).toBe(7200);
  });
});
