// The signed identity assertion an upstream gets: a JWT signed with Portcullis's own key (kid on
// every token) that a verifier with the published JWKS accepts for its issuer and audience only; it
// carries the configured identity claims and never the rest of the token, fits its size bound, is
// reused per identity and audience until half of its life has passed (the clock injected), never
// outlives the credential, and rotates with two published keys.
import { generateKeyPairSync } from "node:crypto";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import {
  configuredKeySet,
  exportAssertionKey,
  generateAssertionKey,
  type AssertionKeySet,
} from "../../src/identity/AssertionKey.ts";
import {
  createAssertionSigner,
  type AssertionSigner,
  type IssuedAssertion,
} from "../../src/identity/createAssertionSigner.ts";
import { renderAssertionDocuments } from "../../src/identity/renderAssertionDocuments.ts";

const ISSUER = "https://auth.example.com";
const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);

function configWith(assertion: Record<string, unknown>): PortcullisConfig {
  const parsed = parseConfig({
    providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
    identity: { assertion: { issuer: ISSUER, enabled: true, audience: "orders", ...assertion } },
    redis: { url: "redis://127.0.0.1:6379" },
    routes: [{ name: "api", match: { path: "/" }, auth: "required" }],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

function signerOver(
  keys: AssertionKeySet | null,
  clock: { now: number },
  assertion: Record<string, unknown> = {},
): AssertionSigner {
  const config = configWith(assertion).identity.assertion!;
  return createAssertionSigner({
    config,
    keys: () => keys,
    now: () => clock.now,
    issuerOf: (provider) => (provider === "corp" ? "https://idp.example.com" : undefined),
    roles: (claims) => (Array.isArray(claims["roles"]) ? (claims["roles"] as string[]) : []),
    groups: (claims) => (Array.isArray(claims["groups"]) ? (claims["groups"] as string[]) : []),
  });
}

const alice = {
  iss: "https://idp.example.com",
  sub: "alice",
  email: "alice@example.com",
  roles: ["admin", "viewer"],
  groups: ["ops"],
  exp: T0 / 1000 + 3600,
  scope: "openid api.read",
  secret_claim: "never forwarded",
};

function issued(result: ReturnType<AssertionSigner["issue"]>): IssuedAssertion {
  if ("refused" in result) throw new Error(`refused: ${result.refused}`);
  return result;
}

async function verify(token: string, keys: AssertionKeySet, audience: string, at: number) {
  const jwks = createLocalJWKSet(JSON.parse(renderAssertionDocuments(keys, ISSUER).jwks) as JSONWebKeySet);
  return jwtVerify(token, jwks, {
    issuer: ISSUER,
    audience,
    currentDate: new Date(at),
    algorithms: ["ES256", "EdDSA"],
  });
}

describe("the signed identity assertion", () => {
  const key = generateAssertionKey("ES256");
  const keys: AssertionKeySet = { signing: key, published: [key] };

  it("verifies against the published JWKS for its issuer and audience, with the configured claims only", async () => {
    const clock = { now: T0 };
    const { value } = issued(signerOver(keys, clock).issue(alice, "corp", false, "orders"));
    const { payload, protectedHeader } = await verify(value, keys, "orders", T0);
    expect(protectedHeader).toMatchObject({ alg: "ES256", kid: key.kid });
    const { jti, ...rest } = payload;
    expect(jti).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(rest).toEqual({
      iss: ISSUER,
      aud: "orders",
      idp: "https://idp.example.com",
      sub: "alice",
      email: "alice@example.com",
      roles: ["admin", "viewer"],
      groups: ["ops"],
      iat: T0 / 1000,
      exp: T0 / 1000 + 60,
    });
  });

  it("is refused by a verifier expecting another audience or another issuer", async () => {
    const { value } = issued(signerOver(keys, { now: T0 }).issue(alice, "corp", false, "orders"));
    await expect(verify(value, keys, "billing", T0)).rejects.toMatchObject({
      code: "ERR_JWT_CLAIM_VALIDATION_FAILED",
      claim: "aud",
    });
    const jwks = createLocalJWKSet(JSON.parse(renderAssertionDocuments(keys, ISSUER).jwks) as JSONWebKeySet);
    await expect(
      jwtVerify(value, jwks, { issuer: "https://other.example.com", audience: "orders", currentDate: new Date(T0) }),
    ).rejects.toMatchObject({ claim: "iss" });
  });

  it("names a machine caller by client_id only, never by a sub its token does not carry", async () => {
    // A client id made the subject would read upstream as the person whose sub it equals (the same
    // rule as x-user-sub): a machine is named by client_id, its sub only when its token has one.
    const signer = signerOver(keys, { now: T0 });
    const machine = issued(signer.issue({ client_id: "alice", exp: T0 / 1000 + 600 }, "corp", true, "orders"));
    const payload = (await verify(machine.value, keys, "orders", T0)).payload;
    expect(payload).toMatchObject({ client_id: "alice" });
    expect(payload).not.toHaveProperty("sub");
    const withSub = issued(
      signer.issue({ sub: "svc-billing", client_id: "billing-job", exp: T0 / 1000 + 600 }, "corp", true, "orders"),
    );
    expect((await verify(withSub.value, keys, "orders", T0)).payload).toMatchObject({
      sub: "svc-billing",
      client_id: "billing-job",
    });
    const person = issued(signer.issue({ ...alice, client_id: "web" }, "corp", false, "orders"));
    expect((await verify(person.value, keys, "orders", T0)).payload).not.toHaveProperty("client_id");
  });

  it("reuses one assertion per identity and audience until half of its life has passed, then signs a new one", () => {
    const clock = { now: T0 };
    const signer = signerOver(keys, clock);
    const first = issued(signer.issue(alice, "corp", false, "orders"));
    expect(first.renewAt).toBe(T0 + 30_000);
    clock.now = T0 + 29_999;
    // Another token of the same person (another claims object) gets the same assertion.
    expect(issued(signer.issue({ ...alice }, "corp", false, "orders")).value).toBe(first.value);
    expect(issued(signer.issue(alice, "corp", false, "billing")).value).not.toBe(first.value);
    expect(issued(signer.issue({ ...alice, roles: ["viewer"] }, "corp", false, "orders")).value).not.toBe(first.value);
    clock.now = T0 + 30_000;
    const renewed = issued(signer.issue(alice, "corp", false, "orders"));
    expect(renewed.value).not.toBe(first.value);
    expect(renewed.renewAt).toBe(T0 + 60_000);
    expect(signer.stats()).toEqual({ hits: 1, misses: 4 });
  });

  it("never outlives the credential it speaks for", async () => {
    const clock = { now: T0 };
    const short = { ...alice, exp: T0 / 1000 + 20 };
    const { value, renewAt } = issued(signerOver(keys, clock).issue(short, "corp", false, "orders"));
    expect((await verify(value, keys, "orders", T0)).payload.exp).toBe(T0 / 1000 + 20);
    expect(renewAt).toBe(T0 + 10_000);
  });

  it("does not serve a kept assertion past the end of a credential that ends sooner", () => {
    const clock = { now: T0 };
    const signer = signerOver(keys, clock);
    const long = issued(signer.issue(alice, "corp", false, "orders"));
    const ending = issued(signer.issue({ ...alice, exp: T0 / 1000 + 10 }, "corp", false, "orders"));
    expect(ending.value).not.toBe(long.value);
  });

  it("fits its size bound: long role lists are cut from the end, over-long values left out", async () => {
    const roles = Array.from({ length: 400 }, (_, i) => `role-${String(i).padStart(4, "0")}`);
    const claims = { ...alice, roles, email: `${"x".repeat(300)}@example.com` };
    const { value } = issued(signerOver(keys, { now: T0 }, { maxBytes: 1024 }).issue(claims, "corp", false, "orders"));
    expect(value.length).toBeLessThanOrEqual(1024);
    const { payload } = await verify(value, keys, "orders", T0);
    expect(payload).not.toHaveProperty("email");
    const kept = payload["roles"] as string[];
    expect(kept.length).toBeGreaterThan(10);
    expect(kept).toEqual(roles.slice(0, kept.length));
  });

  it("carries only the claims configured", async () => {
    const { value } = issued(
      signerOver(keys, { now: T0 }, { claims: ["sub", "scope"] }).issue(alice, "corp", false, "orders"),
    );
    const { payload } = await verify(value, keys, "orders", T0);
    expect(Object.keys(payload).sort()).toEqual(["aud", "exp", "iat", "idp", "iss", "jti", "scope", "sub"]);
  });

  it("always names the credential's issuer (idp), however long, so two providers' subjects never read alike", async () => {
    const long = `https://idp.example.com/${"tenant/".repeat(45)}v2.0`;
    const signer = createAssertionSigner({
      config: configWith({ maxBytes: 4096 }).identity.assertion!,
      keys: () => keys,
      now: () => T0,
      issuerOf: (provider) => (provider === "corp" ? long : "https://other.example.com"),
      roles: () => [],
      groups: () => [],
    });
    const { payload } = await verify(issued(signer.issue(alice, "corp", false, "orders")).value, keys, "orders", T0);
    expect(long.length).toBeGreaterThan(256);
    expect(payload).toMatchObject({ sub: "alice", idp: long });
  });

  it("is refused, not made unsigned, while no key is loaded", () => {
    expect(signerOver(null, { now: T0 }).issue(alice, "corp", false, "orders")).toEqual({ refused: "keys_not_loaded" });
  });

  it("rotates with two published keys: the first signs, a token of the other still verifies", async () => {
    const a = exportAssertionKey(generateAssertionKey("ES256"));
    const b = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const before = configuredKeySet([a, b])!;
    const after = configuredKeySet([b, a])!;
    expect(JSON.parse(renderAssertionDocuments(before, ISSUER).jwks).keys.map((k: { kid: string }) => k.kid)).toEqual([
      before.published[0]!.kid,
      before.published[1]!.kid,
    ]);
    const old = issued(signerOver(before, { now: T0 }).issue(alice, "corp", false, "orders")).value;
    const next = issued(signerOver(after, { now: T0 }).issue(alice, "corp", false, "orders")).value;
    expect(decodeProtectedHeader(old)).toMatchObject({ alg: "ES256", kid: before.signing.kid });
    expect(decodeProtectedHeader(next)).toMatchObject({ alg: "EdDSA", kid: after.signing.kid });
    await expect(verify(old, after, "orders", T0)).resolves.toBeDefined();
    await expect(verify(next, after, "orders", T0)).resolves.toBeDefined();
  });

  it("publishes public keys only, and an OpenID-style discovery document naming them", () => {
    const documents = renderAssertionDocuments(keys, ISSUER);
    const jwk = JSON.parse(documents.jwks).keys[0];
    expect(jwk).toEqual({
      kty: "EC",
      crv: "P-256",
      x: expect.any(String),
      y: expect.any(String),
      kid: key.kid,
      alg: "ES256",
      use: "sig",
    });
    expect(JSON.parse(documents.discovery!)).toMatchObject({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/.well-known/jwks.json`,
    });
  });
});
