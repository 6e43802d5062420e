import { spawn } from "node:child_process";
import { generateKeyPairSync, randomUUID, sign as nodeSign } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { base64url, CompactSign, exportSPKI, jwtVerify, SignJWT } from "jose";
import type { ProviderConfig } from "../../src/config/PortcullisConfig.ts";
import type { OidcObserver } from "../../src/oidc/OidcObserver.ts";
import {
  createProviderRegistry,
  type ProviderRegistry,
  type ProviderRegistryOptions,
  type RegistryLogger,
} from "../../src/oidc/ProviderRegistry.ts";
import {
  createSigningKey,
  providerConfig,
  signToken,
  startLoopbackIdp,
  type LoopbackIdp,
  type SigningKey,
} from "./oidcLoopbackIdp.ts";
import { createManualClock, type ManualClock } from "../harness/createManualClock.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

interface Recorder extends OidcObserver {
  readonly jwks: Array<[string, string]>;
  readonly cache: boolean[];
}
function recorder(): Recorder & { readonly skipped: Array<[string, number]> } {
  const jwks: Array<[string, string]> = [];
  const cache: boolean[] = [];
  const skipped: Array<[string, number]> = [];
  return {
    jwks,
    cache,
    skipped,
    jwksFetch: (p, r) => void jwks.push([p, r]),
    tokenCache: (hit) => void cache.push(hit),
    jwksKeysSkipped: (p, n) => void skipped.push([p, n]),
  };
}

interface Setup {
  idp: LoopbackIdp;
  key: SigningKey;
  registry: ProviderRegistry;
  observer: ReturnType<typeof recorder>;
  config: ProviderConfig;
}

async function setup(
  overrides: Partial<ProviderConfig> = {},
  options: Partial<ProviderRegistryOptions> = {},
  before?: (idp: LoopbackIdp) => void,
): Promise<Setup> {
  const key = await createSigningKey("key-1");
  const idp = await startLoopbackIdp([key.publicJwk]);
  cleanups.push(() => idp.close());
  before?.(idp);
  const config = providerConfig(idp.issuer, overrides);
  const observer = recorder();
  const registry = createProviderRegistry([config], {
    tokenCacheMaxEntries: 100,
    observer,
    retryInitialMs: 50,
    retryMaxMs: 200,
    ...options,
  });
  cleanups.push(() => registry.close());
  await registry.start();
  return { idp, key, registry, observer, config };
}

interface LogEntry {
  readonly level: "warn" | "info" | "error";
  readonly obj: object;
  readonly msg: string;
}
function recordingLogger(): RegistryLogger & { readonly entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    warn: (obj, msg) => void entries.push({ level: "warn", obj, msg }),
    info: (obj, msg) => void entries.push({ level: "info", obj, msg }),
    error: (obj, msg) => void entries.push({ level: "error", obj, msg }),
  };
}

// Generous deadline: CI runs this on a loaded 2-core machine; a passing condition returns at once.
async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Fires the registry's next timer (a start-up retry or a background refresh: the only timer it has
 * at a time) by advancing the clock `ms`, then waits until the work it started has set the next one.
 */
async function fireNextTimer(clock: ManualClock, ms: number): Promise<void> {
  await clock.whenPending();
  clock.advance(ms);
  await clock.whenPending();
}

/** Lets callbacks and promise continuations queued so far run (no time passes on any clock). */
const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("ProviderRegistry start-up", () => {
  it("becomes ready after discovery and one JWKS load", async () => {
    const { registry, idp, observer } = await setup();
    expect(registry.isReady()).toBe(true);
    expect(registry.status()).toEqual([{ provider: "demo", ready: true }]);
    expect(idp.requests).toEqual({ discovery: 1, jwks: 1, other: 0 });
    expect(observer.jwks).toEqual([["demo", "ok"]]);
  });

  it("stays not ready with a clear lastError when the discovery issuer differs from the configured one", async () => {
    const clock = createManualClock();
    const { registry, idp } = await setup({}, { clock }, (idp) => {
      idp.discoveryIssuer = "https://evil.example.com";
    });
    expect(registry.isReady()).toBe(false);
    const [status] = registry.status();
    expect(status?.ready).toBe(false);
    expect(status?.lastError).toContain("discovery issuer mismatch");
    expect(status?.lastError).toContain("https://evil.example.com");
    expect(idp.requests.jwks).toBe(0);
    const discoveries = idp.requests.discovery;
    for (let retry = 0; retry < 3; retry++) await fireNextTimer(clock, 240); // retryMaxMs 200, +20 % jitter at most
    expect(idp.requests.discovery).toBe(discoveries + 3);
    expect(registry.isReady()).toBe(false);
  });

  it("keeps retrying when the JWKS is down at start, answers jwks_unavailable meanwhile, and becomes ready by itself", async () => {
    const clock = createManualClock();
    const { registry, idp, key, observer } = await setup({}, { clock }, (idp) => {
      idp.jwksDown = true;
    });
    expect(registry.isReady()).toBe(false);
    expect(registry.status()[0]?.lastError).toMatch(/^jwks: GET http:\/\/127\.0\.0\.1:\d+\/jwks answered HTTP 503$/);
    expect(observer.jwks[0]).toEqual(["demo", "error"]);
    const token = await signToken(key, idp.issuer);
    const early = await registry.verify(token, []);
    expect(early).toMatchObject({ ok: false, code: "jwks_unavailable", provider: "demo" });
    idp.jwksDown = false;
    await fireNextTimer(clock, 60); // retryInitialMs 50, +20 % jitter at most
    expect(registry.isReady()).toBe(true);
    expect(registry.status()).toEqual([{ provider: "demo", ready: true }]);
    expect(await registry.verify(token, [])).toMatchObject({ ok: true, provider: "demo" });
  });

  it("does not throw from start() when the IdP is unreachable, and close() stops the retries", async () => {
    const idp = await startLoopbackIdp([]);
    const issuer = idp.issuer;
    await idp.close();
    // Nothing listens, so the IdP cannot count: count the registry's attempts to reach it instead.
    // fetch is called synchronously when a retry fires, so an attempt after close() is a retry close() missed.
    let attempts = 0;
    const countingFetch: typeof fetch = (input, init) => {
      attempts += 1;
      return fetch(input, init);
    };
    const clock = createManualClock();
    const registry = createProviderRegistry([providerConfig(issuer)], {
      tokenCacheMaxEntries: 10,
      fetch: countingFetch,
      clock,
      retryInitialMs: 20,
      retryMaxMs: 20,
    });
    cleanups.push(() => registry.close());
    await registry.start();
    expect(registry.isReady()).toBe(false);
    expect(registry.status()[0]?.lastError).toMatch(/^discovery: GET .* failed to connect \(ECONNREFUSED\)$/);
    for (let retry = 0; retry < 2; retry++) await fireNextTimer(clock, 24); // 20 ms, +20 % jitter at most
    expect(attempts).toBe(3); // the retries do run
    registry.close();
    expect(clock.pending()).toBe(0);
    const atClose = attempts;
    clock.advance(300); // more than ten retry intervals
    await flush();
    expect(attempts).toBe(atClose);
    expect(registry.isReady()).toBe(false);
  });

  it("refuses at construction a provider whose algorithms include none or HS256", () => {
    expect(() =>
      createProviderRegistry([providerConfig("https://idp.example.com", { algorithms: ["RS256", "HS256"] })], {
        tokenCacheMaxEntries: 10,
      }),
    ).toThrow(TypeError);
  });

  it("refuses at construction a provider whose jwksMaxAgeSeconds would make the background refresh spin", () => {
    for (const jwksMaxAgeSeconds of [0, -1, Number.NaN]) {
      expect(() =>
        createProviderRegistry([providerConfig("https://idp.example.com", { jwksMaxAgeSeconds })], {
          tokenCacheMaxEntries: 10,
        }),
      ).toThrow(/jwksMaxAgeSeconds must be a positive number/);
    }
  });

  it("refuses at construction two providers with the same issuer", () => {
    expect(() =>
      createProviderRegistry(
        [providerConfig("https://idp.example.com"), providerConfig("https://idp.example.com", { name: "other" })],
        { tokenCacheMaxEntries: 10 },
      ),
    ).toThrow(/issuer is already used/);
  });
});

describe("ProviderRegistry.verify", () => {
  it("accepts a valid RS256 token and returns its claims", async () => {
    const { registry, idp, key } = await setup();
    const token = await signToken(key, idp.issuer, { email: "a@example.com", roles: ["admin"] });
    const outcome = await registry.verify(token, ["demo"]);
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.provider).toBe("demo");
    expect(outcome.claims.sub).toBe("user-1");
    expect(outcome.claims["email"]).toBe("a@example.com");
    expect(outcome.expiresAt).toBe(outcome.claims.exp);
    expect(Object.isFrozen(outcome.claims)).toBe(true);
    expect(Object.isFrozen(outcome.claims["roles"])).toBe(true);
  });

  it("accepts an ES256 token when ES256 is on the allowlist", async () => {
    const ec = await createSigningKey("ec-1", "ES256");
    const { registry, idp } = await setup({}, {}, (idp) => {
      idp.keys = [...idp.keys, ec.publicJwk];
    });
    const token = await signToken(ec, idp.issuer);
    expect(await registry.verify(token, [])).toMatchObject({ ok: true, provider: "demo" });
  });

  it("rejects a token whose alg is outside the provider allowlist as alg_not_allowed", async () => {
    const { registry, idp, key } = await setup({ algorithms: ["ES256"] });
    const token = await signToken(key, idp.issuer);
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "alg_not_allowed", provider: "demo" });
  });

  it("rejects an expired token as token_expired", async () => {
    const { registry, idp, key } = await setup({ clockToleranceSeconds: 60 });
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken(key, idp.issuer, { iat: now - 600, exp: now - 61 });
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "token_expired" });
  });

  it("rejects a token whose nbf is beyond the clock tolerance as token_not_yet_valid", async () => {
    const { registry, idp, key } = await setup({ clockToleranceSeconds: 60 });
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken(key, idp.issuer, { nbf: now + 120 });
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "token_not_yet_valid" });
  });

  it("rejects a token whose iat is beyond the clock tolerance as token_issued_in_future", async () => {
    const { registry, idp, key } = await setup({ clockToleranceSeconds: 60 });
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken(key, idp.issuer, { iat: now + 120, exp: now + 600 });
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "token_issued_in_future" });
  });

  it("accepts a token whose iat is in the future but within the clock tolerance", async () => {
    const { registry, idp, key } = await setup({ clockToleranceSeconds: 60 });
    const now = Math.floor(Date.now() / 1000);
    const token = await signToken(key, idp.issuer, { iat: now + 30 });
    expect(await registry.verify(token, [])).toMatchObject({ ok: true });
  });

  it("rejects a token whose aud does not include the API as audience_mismatch", async () => {
    const { registry, idp, key } = await setup();
    const token = await signToken(key, idp.issuer, { aud: ["other-api"] });
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "audience_mismatch" });
  });

  it("rejects a token from an unknown issuer as issuer_mismatch without any outbound request", async () => {
    const { registry, idp, key } = await setup();
    const before = { ...idp.requests };
    const token = await signToken(key, "https://unknown.example.com", {}, { kid: "never-seen" });
    const outcome = await registry.verify(token, []);
    expect(outcome).toMatchObject({ ok: false, code: "issuer_mismatch" });
    expect(idp.requests).toEqual(before);
  });

  it("rejects a token from a configured provider the route does not accept as issuer_mismatch", async () => {
    const { registry, idp, key } = await setup();
    const token = await signToken(key, idp.issuer);
    expect(await registry.verify(token, ["someone-else"])).toMatchObject({ ok: false, code: "issuer_mismatch" });
  });

  it("rejects an unsigned token (alg none) as alg_not_allowed", async () => {
    const { registry, idp } = await setup();
    const now = Math.floor(Date.now() / 1000);
    const header = base64url.encode(JSON.stringify({ alg: "none" }));
    const payload = base64url.encode(
      JSON.stringify({ iss: idp.issuer, aud: "api", sub: "x", iat: now, exp: now + 300 }),
    );
    expect(await registry.verify(`${header}.${payload}.`, [])).toMatchObject({ ok: false, code: "alg_not_allowed" });
  });

  it("rejects an HS256 token signed with the RSA public key as the secret as alg_not_allowed", async () => {
    const { registry, idp, key } = await setup();
    const pem = await exportSPKI(key.publicKey);
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ iss: idp.issuer, aud: "api", sub: "x", iat: now, exp: now + 300 })
      .setProtectedHeader({ alg: "HS256", kid: key.kid })
      .sign(new TextEncoder().encode(pem));
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "alg_not_allowed" });
  });

  it("rejects a token with a tampered signature as signature_invalid", async () => {
    const { registry, idp, key } = await setup();
    const a = await signToken(key, idp.issuer, { sub: "alice" });
    const b = await signToken(key, idp.issuer, { sub: "bob" });
    const forged = `${a.split(".").slice(0, 2).join(".")}.${b.split(".")[2]}`;
    expect(await registry.verify(forged, [])).toMatchObject({ ok: false, code: "signature_invalid" });
  });

  it("rejects a token with a tampered payload as signature_invalid", async () => {
    const { registry, idp, key } = await setup();
    const [h, , s] = (await signToken(key, idp.issuer, { sub: "alice" })).split(".");
    const now = Math.floor(Date.now() / 1000);
    const payload = base64url.encode(
      JSON.stringify({ iss: idp.issuer, aud: "api", sub: "admin", iat: now, exp: now + 300 }),
    );
    expect(await registry.verify(`${h}.${payload}.${s}`, [])).toMatchObject({ ok: false, code: "signature_invalid" });
  });

  it("rejects a token without exp as claims_invalid", async () => {
    const { registry, idp, key } = await setup();
    const token = await signToken(key, idp.issuer, { exp: undefined });
    expect(JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString())).not.toHaveProperty("exp");
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "claims_invalid" });
  });

  it("rejects a validly signed token whose exp parses to Infinity as claims_invalid", async () => {
    const { registry, idp, key } = await setup();
    const now = Math.floor(Date.now() / 1000);
    const json = `{"iss":${JSON.stringify(idp.issuer)},"aud":"api","sub":"x","iat":${now},"exp":1e400}`;
    const token = await new CompactSign(new TextEncoder().encode(json))
      .setProtectedHeader({ alg: "RS256", kid: key.kid })
      .sign(key.privateKey);
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "claims_invalid" });
  });

  it("rejects a validly signed token whose exp is beyond the year 9999 as claims_invalid", async () => {
    const { registry, idp, key } = await setup();
    const token = await signToken(key, idp.issuer, { exp: 1e15 });
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "claims_invalid" });
  });

  it("rejects strings that are not a three-part compact JWS as token_malformed", async () => {
    const { registry, idp } = await setup();
    for (const bad of ["", "abc", "a.b", "a.b.c.d", "a b.c.d", "..sig", "x".repeat(70_000)]) {
      expect(await registry.verify(bad, []), bad.slice(0, 20)).toMatchObject({ ok: false, code: "token_malformed" });
    }
    const notJson = `${base64url.encode('{"alg":"RS256"}')}.${base64url.encode("not json")}.c2ln`;
    expect(await registry.verify(notJson, [])).toMatchObject({ ok: false, code: "token_malformed" });
    expect(idp.requests.jwks).toBe(1);
  });

  it("never puts the token in a denial detail", async () => {
    const { registry, idp, key } = await setup();
    const tokens = [
      await signToken(key, idp.issuer, { aud: "nope" }),
      await signToken(key, "https://unknown.example.com"),
      await signToken(key, idp.issuer, { exp: 1 }),
    ];
    for (const token of tokens) {
      const outcome = await registry.verify(token, []);
      expect(outcome.ok).toBe(false);
      if (outcome.ok) continue;
      for (const part of token.split(".")) expect(outcome.detail).not.toContain(part);
    }
  });

  it("enforces typ at+jwt when requireAccessTokenType is set (application/at+jwt too)", async () => {
    const { registry, idp, key } = await setup({ requireAccessTokenType: true });
    const plain = await signToken(key, idp.issuer, {}, { typ: "JWT" });
    const untyped = await signToken(key, idp.issuer);
    const at = await signToken(key, idp.issuer, {}, { typ: "at+jwt" });
    const media = await signToken(key, idp.issuer, {}, { typ: "application/at+jwt" });
    expect(await registry.verify(plain, [])).toMatchObject({ ok: false, code: "type_not_allowed" });
    expect(await registry.verify(untyped, [])).toMatchObject({ ok: false, code: "type_not_allowed" });
    expect(await registry.verify(at, [])).toMatchObject({ ok: true });
    expect(await registry.verify(media, [])).toMatchObject({ ok: true });
  });

  it("accepts any typ when requireAccessTokenType is off", async () => {
    const { registry, idp, key } = await setup({ requireAccessTokenType: false });
    const plain = await signToken(key, idp.issuer, {}, { typ: "JWT" });
    expect(await registry.verify(plain, [])).toMatchObject({ ok: true });
  });

  it("refuses a token naming a key the IdP serves but no one can verify with (a 1024-bit RSA key) as key_not_found, not a fault", async () => {
    const { registry, idp, key } = await setup({ jwksCooldownSeconds: 0 });
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 });
    idp.keys = [key.publicJwk, { ...weak.publicKey.export({ format: "jwk" }), kid: "weak", alg: "RS256", use: "sig" }];
    const now = Math.floor(Date.now() / 1000);
    const header = base64url.encode(JSON.stringify({ alg: "RS256", kid: "weak" }));
    const payload = base64url.encode(
      JSON.stringify({ iss: idp.issuer, aud: "api", sub: "x", iat: now, exp: now + 300 }),
    );
    const signature = base64url.encode(nodeSign("sha256", Buffer.from(`${header}.${payload}`), weak.privateKey));
    expect(await registry.verify(`${header}.${payload}.${signature}`, [])).toMatchObject({
      ok: false,
      code: "key_not_found",
    });
    expect(await registry.verify(await signToken(key, idp.issuer), [])).toMatchObject({ ok: true });
  });
});

describe("ProviderRegistry JWKS refetch", () => {
  it("answers key_not_found for an unknown kid after exactly one refetch", async () => {
    const { registry, idp, observer } = await setup({ jwksCooldownSeconds: 0 });
    const stranger = await createSigningKey("unknown-kid");
    const token = await signToken(stranger, idp.issuer);
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "key_not_found" });
    expect(idp.requests.jwks).toBe(2);
    expect(observer.jwks).toEqual([
      ["demo", "ok"],
      ["demo", "ok"],
    ]);
  });

  it("coalesces ten concurrent unknown-kid verifications into one JWKS fetch", async () => {
    const { registry, idp } = await setup({ jwksCooldownSeconds: 0 });
    const stranger = await createSigningKey("unknown-kid");
    const tokens = await Promise.all(
      Array.from({ length: 10 }, (_, i) => signToken(stranger, idp.issuer, { sub: `u${i}` })),
    );
    const outcomes = await Promise.all(tokens.map((t) => registry.verify(t, [])));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ ok: false, code: "key_not_found" });
    expect(idp.requests.jwks).toBe(2);
  });

  it("picks up a rotated key after one refetch", async () => {
    const { registry, idp } = await setup({ jwksCooldownSeconds: 0 });
    const next = await createSigningKey("key-2");
    idp.keys = [next.publicJwk];
    const token = await signToken(next, idp.issuer);
    expect(await registry.verify(token, [])).toMatchObject({ ok: true, provider: "demo" });
    expect(idp.requests.jwks).toBe(2);
  });

  it("hands the login client a key set that refetches once for an ID token signed with a rotated key", async () => {
    const { registry, idp } = await setup({ jwksCooldownSeconds: 0 });
    await registry.start();
    const loaded = registry.loaded("demo");
    expect(loaded?.metadata["issuer"]).toBe(idp.issuer);
    const next = await createSigningKey("key-2");
    idp.keys = [next.publicJwk];
    const idToken = await signToken(next, idp.issuer, { aud: "web-client" });
    const { payload } = await jwtVerify(idToken, loaded!.keys, { issuer: idp.issuer, audience: "web-client" });
    expect(payload["iss"]).toBe(idp.issuer);
    expect(idp.requests.jwks).toBe(2);
    expect(registry.loaded("nope")).toBeNull();
  });

  it("does not refetch for an unknown kid during the cooldown, and does once it has passed", async () => {
    const clock = createManualClock();
    const { registry, idp } = await setup({ jwksCooldownSeconds: 30 }, { clock });
    const next = await createSigningKey("key-2");
    idp.keys = [next.publicJwk];
    const token = await signToken(next, idp.issuer, {}, { nowSeconds: Math.floor(clock.now() / 1000) });
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "key_not_found" });
    clock.advance(29_999);
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "key_not_found" });
    expect(idp.requests.jwks).toBe(1);
    clock.advance(1);
    expect(await registry.verify(token, [])).toMatchObject({ ok: true });
    expect(idp.requests.jwks).toBe(2);
  });

  it("answers jwks_unavailable when a needed refetch fails, and counts the failed fetch", async () => {
    const { registry, idp, observer } = await setup({ jwksCooldownSeconds: 0 });
    idp.jwksDown = true;
    const stranger = await createSigningKey("unknown-kid");
    const outcome = await registry.verify(await signToken(stranger, idp.issuer), []);
    expect(outcome).toMatchObject({ ok: false, code: "jwks_unavailable", provider: "demo" });
    expect(observer.jwks.at(-1)).toEqual(["demo", "error"]);
    expect(registry.isReady()).toBe(true);
    expect(registry.status()[0]?.lastError).toContain("HTTP 503");
  });
});

describe("ProviderRegistry verified-token cache", () => {
  it("serves a repeated token from the cache without refetching or re-verifying", async () => {
    const { registry, idp, key, observer } = await setup({ jwksCooldownSeconds: 0 });
    const token = await signToken(key, idp.issuer);
    const first = await registry.verify(token, []);
    // Drop every key: only a cache hit can still accept the token.
    idp.keys = [];
    const second = await registry.verify(token, []);
    expect(second).toEqual(first);
    expect(observer.cache).toEqual([false, true]);
    expect(idp.requests.jwks).toBe(1);
  });

  it("does not cache failures", async () => {
    const { registry, idp, key, observer } = await setup();
    const token = await signToken(key, idp.issuer, { aud: "nope" });
    await registry.verify(token, []);
    await registry.verify(token, []);
    expect(observer.cache).toEqual([false, false]);
    expect(registry.cacheSize()).toBe(0);
  });

  it("expires a cached token at its exp (injected clock)", async () => {
    const nowSeconds = Math.floor(Date.now() / 1000);
    const clock = createManualClock(nowSeconds * 1000);
    const { registry, idp, key, observer } = await setup({ clockToleranceSeconds: 0 }, { clock });
    const token = await signToken(key, idp.issuer, { iat: nowSeconds, exp: nowSeconds + 10 });
    expect(await registry.verify(token, [])).toMatchObject({ ok: true });
    clock.advance(9_000);
    expect(await registry.verify(token, [])).toMatchObject({ ok: true });
    clock.advance(1_000);
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "token_expired" });
    expect(observer.cache).toEqual([false, true, false]);
  });

  it("rejects a cached token for a route that does not accept its provider as issuer_mismatch", async () => {
    const { registry, idp, key, observer } = await setup();
    const token = await signToken(key, idp.issuer);
    expect(await registry.verify(token, ["demo"])).toMatchObject({ ok: true });
    expect(await registry.verify(token, ["other"])).toMatchObject({
      ok: false,
      code: "issuer_mismatch",
      provider: "demo",
    });
    expect(observer.cache).toEqual([false, true]);
  });

  it("answers a cached token without a promise through verifyCached, as verify() would, and counts one lookup per check", async () => {
    const { registry, idp, key, observer } = await setup();
    const token = await signToken(key, idp.issuer);
    // First seen: verifyCached misses, and the verify() that follows counts that one miss.
    expect(registry.verifyCached(token, [])).toBeUndefined();
    const verified = await registry.verify(token, []);
    expect(verified).toMatchObject({ ok: true, provider: "demo" });
    expect(observer.cache).toEqual([false]);
    const hit = registry.verifyCached(token, []);
    expect(hit).toBe(await registry.verify(token, []));
    expect(hit).toEqual(verified);
    expect(registry.verifyCached(token, ["other"])).toMatchObject({ ok: false, code: "issuer_mismatch" });
    expect(observer.cache).toEqual([false, true, true, true]);
    // An opaque token is not looked up (nor hashed) here: verify() decides it.
    expect(registry.verifyCached("opaque-token", [])).toBeUndefined();
    expect(observer.cache).toHaveLength(4);
  });

  it("never lets verifyCached's remembered miss answer for another token", async () => {
    const { registry, idp, key } = await setup();
    const good = await signToken(key, idp.issuer, { sub: "alice" });
    const other = await signToken(key, idp.issuer, { aud: "nope" });
    expect(registry.verifyCached(good, [])).toBeUndefined();
    expect(await registry.verify(other, [])).toMatchObject({ ok: false });
    expect(await registry.verify(good, [])).toMatchObject({ ok: true, claims: { sub: "alice" } });
    expect(registry.verifyCached(good, [])).toMatchObject({ ok: true, claims: { sub: "alice" } });
  });

  it("keeps at most tokenCacheMaxEntries verified tokens", async () => {
    const { registry, idp, key } = await setup({}, { tokenCacheMaxEntries: 3 });
    for (let i = 0; i < 5; i++) {
      expect(await registry.verify(await signToken(key, idp.issuer, { sub: `u${i}` }), [])).toMatchObject({ ok: true });
    }
    expect(registry.cacheSize()).toBe(3);
  });
});

describe("ProviderRegistry JWKS refresh while the IdP is down", () => {
  const errors = (observer: Recorder) => observer.jwks.filter(([, result]) => result === "error").length;

  it("makes at most one JWKS request per cooldown for unknown kids, failed attempts included", async () => {
    const clock = createManualClock();
    const { registry, idp, observer } = await setup({ jwksCooldownSeconds: 30 }, { clock });
    idp.jwksDown = true;
    const before = idp.requests.jwks;
    const stranger = await createSigningKey("stranger");
    const randomKid = async () => registry.verify(await signToken(stranger, idp.issuer, {}, { kid: randomUUID() }), []);

    // Window 1 (the start-up fetch's cooldown has passed): a burst of 5, then 5 more spread over it.
    clock.advance(30_000);
    const burst = await Promise.all(Array.from({ length: 5 }, randomKid));
    for (const outcome of burst)
      expect(outcome).toMatchObject({ ok: false, code: "jwks_unavailable", provider: "demo" });
    for (let i = 0; i < 5; i++) {
      clock.advance(5_000);
      expect(await randomKid()).toMatchObject({ ok: false, code: "jwks_unavailable", provider: "demo" });
    }
    expect(idp.requests.jwks - before).toBe(1);

    // Window 2: 10 more, one every 2.9 s, all inside 30 s of the second (failed) attempt.
    clock.advance(5_000);
    for (let i = 0; i < 10; i++) {
      expect(await randomKid()).toMatchObject({ ok: false, code: "jwks_unavailable", provider: "demo" });
      clock.advance(2_900);
    }
    expect(idp.requests.jwks - before).toBe(2);
    expect(errors(observer)).toBe(2);
    expect(registry.isReady()).toBe(true);
  });

  it("answers key_not_found without a request for an unknown kid within the cooldown of a successful fetch", async () => {
    const clock = createManualClock();
    const { registry, idp } = await setup({ jwksCooldownSeconds: 30 }, { clock });
    const stranger = await createSigningKey("stranger");
    clock.advance(29_000);
    const token = await signToken(stranger, idp.issuer, {}, { kid: randomUUID() });
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "key_not_found", provider: "demo" });
    expect(idp.requests.jwks).toBe(1);
  });

  it("fetches again for an unknown kid once the cooldown after a failed attempt has passed, and picks up the new key", async () => {
    const clock = createManualClock();
    const { registry, idp, key } = await setup({ jwksCooldownSeconds: 30 }, { clock });
    const next = await createSigningKey("key-2");
    idp.jwksDown = true;
    clock.advance(30_000);
    const token = await signToken(next, idp.issuer, {}, { nowSeconds: Math.floor(clock.now() / 1000) });
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "jwks_unavailable" });
    expect(idp.requests.jwks).toBe(2);

    idp.jwksDown = false;
    idp.keys = [key.publicJwk, next.publicJwk];
    clock.advance(29_000);
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "jwks_unavailable" });
    expect(idp.requests.jwks).toBe(2);
    clock.advance(1_000);
    expect(await registry.verify(token, [])).toMatchObject({ ok: true, provider: "demo" });
    expect(idp.requests.jwks).toBe(3);
  });

  it("keeps verifying a token with a known kid after the max age while the JWKS answers 500, and warns once without secrets", async () => {
    const logger = recordingLogger();
    const clock = createManualClock();
    const { registry, idp, key, observer } = await setup({ jwksMaxAgeSeconds: 0.1 }, { logger, clock }, (idp) => {
      idp.jwksUriSuffix = "?client_secret=hunter2";
    });
    idp.jwksDown = true;
    idp.jwksDownStatus = 500;
    const before = idp.requests.jwks;
    // Several background refreshes, each past the max age, have failed.
    for (let refresh = 0; refresh < 3; refresh++) await fireNextTimer(clock, 100);
    expect(errors(observer)).toBeGreaterThanOrEqual(3);
    expect(idp.requests.jwks - before).toBeGreaterThanOrEqual(3);

    const token = await signToken(key, idp.issuer, { sub: "not-cached-yet" });
    expect(await registry.verify(token, [])).toMatchObject({ ok: true, provider: "demo" });
    expect(registry.isReady()).toBe(true);
    expect(registry.status()[0]?.lastError).toContain("HTTP 500");

    const warnings = logger.entries.filter(
      (entry) => entry.level === "warn" && entry.msg.includes("could not be refreshed"),
    );
    expect(warnings).toHaveLength(1);
    const logged = JSON.stringify(logger.entries);
    expect(logged).toContain("/jwks answered HTTP 500");
    expect(logged).not.toContain("hunter2");
    expect(logged).not.toContain(token);
  });

  it("takes a new key and drops a removed one at the next background refresh once the IdP is back", async () => {
    const logger = recordingLogger();
    const clock = createManualClock();
    // A cooldown of an hour: only the background refresh can fetch during this test.
    const { registry, idp, key, observer } = await setup(
      { jwksMaxAgeSeconds: 0.1, jwksCooldownSeconds: 3600 },
      { logger, clock },
    );
    idp.jwksDown = true;
    await fireNextTimer(clock, 100);
    expect(errors(observer)).toBe(1);

    const next = await createSigningKey("key-2");
    const newToken = await signToken(next, idp.issuer);
    expect(await registry.verify(newToken, [])).toMatchObject({ ok: false, code: "jwks_unavailable" });
    idp.keys = [next.publicJwk];
    idp.jwksDown = false;
    await fireNextTimer(clock, 100);
    expect(await registry.verify(newToken, [])).toMatchObject({ ok: true });

    const oldKeyToken = await signToken(key, idp.issuer, { sub: "signed-with-the-dropped-key" });
    expect(await registry.verify(oldKeyToken, [])).toMatchObject({ ok: false, code: "key_not_found" });
    expect(registry.status()).toEqual([{ provider: "demo", ready: true }]);
    expect(logger.entries.filter((entry) => entry.msg === "OIDC provider keys refreshed again")).toHaveLength(1);
  });

  it("coalesces a background refresh and unknown-kid refetches into one request in flight", async () => {
    const { registry, idp } = await setup({ jwksCooldownSeconds: 0 });
    const stranger = await createSigningKey("stranger");
    idp.jwksDown = true;
    const tokens = await Promise.all(
      Array.from({ length: 10 }, () => signToken(stranger, idp.issuer, {}, { kid: randomUUID() })),
    );
    const outcomes = await Promise.all(tokens.map((token) => registry.verify(token, [])));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ ok: false, code: "jwks_unavailable" });
    expect(idp.requests.jwks).toBe(2);
  });

  it("stops the background refresh at close(): no timer fires and no JWKS request is made after it", async () => {
    // The registry calls fetch synchronously when a refresh timer fires, so a call after close() is
    // a timer close() left running, however briefly.
    let jwksCalls = 0;
    const countingFetch: typeof fetch = (input, init) => {
      if (String(input).includes("/jwks")) jwksCalls += 1;
      return fetch(input, init);
    };
    const clock = createManualClock();
    const { registry, idp, observer } = await setup({ jwksMaxAgeSeconds: 0.05 }, { fetch: countingFetch, clock });
    for (let refresh = 0; refresh < 2; refresh++) await fireNextTimer(clock, 50);
    expect(idp.requests.jwks).toBe(3);
    // fireNextTimer waited for the last refresh to settle: none is in flight at close().
    registry.close();
    expect(clock.pending()).toBe(0);
    const callsAtClose = jwksCalls;
    const requestsAtClose = idp.requests.jwks;
    const fetches = observer.jwks.length;
    clock.advance(300); // six refresh intervals and more
    await flush();
    expect(jwksCalls).toBe(callsAtClose);
    // A refresh timer left running would still try (and count) an aborted fetch.
    expect(observer.jwks.length).toBe(fetches);
    // The server may count late the one request already on its way at close(), and no other.
    expect(idp.requests.jwks).toBeLessThanOrEqual(requestsAtClose + 1);
  });

  it("does not refresh again after close() aborts a refresh that was in flight", async () => {
    // One refresh is held in the client until it is aborted: close() is sure to find it in flight,
    // and the IdP never sees it.
    let jwksCalls = 0;
    let holdNext = false;
    const holdingFetch: typeof fetch = (input, init) => {
      if (!String(input).includes("/jwks")) return fetch(input, init);
      jwksCalls += 1;
      if (!holdNext) return fetch(input, init);
      holdNext = false;
      const signal = init!.signal!;
      return new Promise<Response>((_, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason), { once: true }),
      );
    };
    // A long JWKS timeout: only close() may end the held refresh, however slow the machine.
    const clock = createManualClock();
    const { registry, idp, observer } = await setup(
      { jwksMaxAgeSeconds: 0.05, jwksTimeoutMs: 60_000 },
      { fetch: holdingFetch, clock },
    );
    holdNext = true;
    clock.advance(50);
    await eventually(() => !holdNext); // the held refresh is in flight
    const requestsAtClose = idp.requests.jwks;
    const callsAtClose = jwksCalls;
    const observedAtClose = observer.jwks.length;
    registry.close();
    await eventually(() => observer.jwks.length > observedAtClose);
    expect(observer.jwks.slice(observedAtClose)).toEqual([["demo", "error"]]);
    await flush();
    expect(clock.pending()).toBe(0); // the aborted refresh scheduled no other
    clock.advance(300); // six refresh intervals and more
    await flush();
    expect(jwksCalls).toBe(callsAtClose);
    expect(observer.jwks.length).toBe(observedAtClose + 1);
    expect(idp.requests.jwks).toBe(requestsAtClose);
    expect(registry.isReady()).toBe(true);
  });

  it("does not keep the process alive with its background refresh timer", async () => {
    const idp = await startLoopbackIdp([(await createSigningKey("key-1")).publicJwk]);
    cleanups.push(() => idp.close());
    const registryUrl = new URL("../../src/oidc/ProviderRegistry.ts", import.meta.url).href;
    const config = providerConfig(idp.issuer, { jwksMaxAgeSeconds: 0.05 });
    // start() and never close(): the child must still exit once its script is done. It waits (on
    // the system clock, the default) until the background refresh has run once.
    const script = `
      const { createProviderRegistry } = await import(${JSON.stringify(registryUrl)});
      let jwksCalls = 0;
      const countingFetch = (input, init) => {
        if (String(input).includes("/jwks")) jwksCalls += 1;
        return fetch(input, init);
      };
      const registry = createProviderRegistry([${JSON.stringify(config)}], { tokenCacheMaxEntries: 10, fetch: countingFetch });
      await registry.start();
      while (jwksCalls < 2) await new Promise((r) => setTimeout(r, 10));
      console.log(registry.isReady() ? "ready" : "not ready");
    `;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    // Starting Node, stripping types and importing jose can take seconds on a loaded machine; the
    // property is that the child exits by itself, not how fast.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve("still running"), 15_000)));
    const result = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (result === "still running") child.kill();
    expect(result).toBe(0);
    expect(stdout.trim()).toBe("ready");
    expect(idp.requests.jwks).toBeGreaterThanOrEqual(2); // the refresh timer did run
  });
});

describe("a removed signing key ends the tokens it signed", () => {
  it("refuses a cached token once a background refresh no longer finds the key that signed it", async () => {
    const logger = recordingLogger();
    const clock = createManualClock();
    const { registry, idp, key } = await setup(
      { jwksMaxAgeSeconds: 0.1, jwksCooldownSeconds: 3600 },
      { logger, clock },
    );
    const next = await createSigningKey("key-2");
    idp.keys = [key.publicJwk, next.publicJwk];
    const oldToken = await signToken(key, idp.issuer, { sub: "old" });
    await fireNextTimer(clock, 100);
    expect(await registry.verify(await signToken(next, idp.issuer), [])).toMatchObject({ ok: true });
    expect(await registry.verify(oldToken, [])).toMatchObject({ ok: true });
    const cachedBefore = registry.cacheSize();
    expect(cachedBefore).toBe(2);

    idp.keys = [next.publicJwk]; // the IdP revokes key-1
    await fireNextTimer(clock, 100);
    expect(registry.cacheSize()).toBe(1);
    expect(await registry.verify(oldToken, [])).toMatchObject({ ok: false, code: "key_not_found" });
    expect(await registry.verify(await signToken(next, idp.issuer), [])).toMatchObject({ ok: true });
    const evictionLog = logger.entries.find((entry) => entry.msg.startsWith("signing keys removed"));
    expect(evictionLog?.obj).toMatchObject({ provider: "demo", removedKeys: 1, evictedTokens: 1 });
  });

  it("evicts from the cache of a reloaded registry that shares the provider too", async () => {
    const clock = createManualClock();
    const { registry, idp, key, config } = await setup(
      { jwksMaxAgeSeconds: 0.1, jwksCooldownSeconds: 3600 },
      { clock },
    );
    const next = registry.successor([config], { tokenCacheMaxEntries: 100 });
    cleanups.push(() => next.close());
    await next.start();
    const token = await signToken(key, idp.issuer);
    expect(await next.verify(token, [])).toMatchObject({ ok: true });
    expect(next.cacheSize()).toBe(1);
    const other = await createSigningKey("key-2");
    idp.keys = [other.publicJwk];
    // The shared provider refreshes on the clock of the registry that loaded it.
    await fireNextTimer(clock, 100);
    expect(next.cacheSize()).toBe(0);
    expect(await next.verify(token, [])).toMatchObject({ ok: false, code: "key_not_found" });
  });
});

describe("a key set with one bad member", () => {
  it("skips a member that is not an object or not a usable key, keeps the rest, counts and logs it once per refresh without key material", async () => {
    const logger = recordingLogger();
    const weak = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({ format: "jwk" });
    const clock = createManualClock();
    const { registry, idp, key, observer } = await setup({}, { logger, clock }, (idp) => {
      idp.keys = [
        "junk" as never,
        42 as never,
        { kty: "RSA", kid: "broken", n: "AQAB", e: "AQAB" },
        { ...weak, kid: "weak" },
        { kty: "oct", kid: "shared", k: "c2VjcmV0" },
      ];
    });
    idp.keys.push(key.publicJwk);
    expect(registry.isReady()).toBe(false);
    await fireNextTimer(clock, 60); // the start-up retry: retryInitialMs 50, +20 % jitter at most
    expect(registry.isReady()).toBe(true);
    expect(await registry.verify(await signToken(key, idp.issuer), [])).toMatchObject({ ok: true });
    for (const kid of ["broken", "weak", "shared"]) {
      expect(await registry.verify(await signToken(key, idp.issuer, {}, { kid }), [])).toMatchObject({
        ok: false,
        code: "key_not_found",
      });
    }
    const counted = observer.skipped.filter(([provider]) => provider === "demo").map(([, n]) => n);
    expect(counted.at(-1)).toBe(5);
    const warnings = logger.entries.filter((entry) => entry.msg.startsWith("JWKS members skipped"));
    expect(warnings.length).toBe(counted.length);
    const logged = JSON.stringify(warnings);
    expect(logged).toContain("weak");
    expect(logged).not.toContain(String(weak.n).slice(0, 20));
    expect(logged).not.toContain("c2VjcmV0");
  });

  it("keeps the keys it had when a fetched set has no usable member at all", async () => {
    const clock = createManualClock();
    const { registry, idp, key } = await setup({ jwksMaxAgeSeconds: 0.1 }, { clock });
    const before = idp.requests.jwks;
    idp.keys = ["junk" as never];
    for (let refresh = 0; refresh < 2; refresh++) await fireNextTimer(clock, 100);
    expect(idp.requests.jwks).toBeGreaterThan(before + 1);
    expect(registry.status()[0]?.lastError).toContain("no usable key");
    expect(await registry.verify(await signToken(key, idp.issuer), [])).toMatchObject({ ok: true });
  });
});
