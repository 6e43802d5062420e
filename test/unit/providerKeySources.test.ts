// A provider that publishes no discovery document: `discovery: false` with a jwksUri, an inline JWK
// Set, a JWK Set file or PEM files. No discovery request is ever made, readiness waits only for the
// keys, a key rotated in the file is picked up on the next refetch, and a file holding a private key
// or naming nothing readable keeps the provider not ready with a log-safe reason.
import { createPrivateKey } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { exportPKCS8, exportSPKI, SignJWT } from "jose";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { ProviderConfig } from "../../src/config/PortcullisConfig.ts";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import { createProviderRegistry, type ProviderRegistry } from "../../src/oidc/ProviderRegistry.ts";
import { createSigningKey, providerConfig, signToken, startLoopbackIdp } from "./oidcLoopbackIdp.ts";

const ISSUER = "https://idp.internal.example/no-discovery";
const dir = mkdtempSync(join(tmpdir(), "portcullis-static-keys-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

type StaticKeys = NonNullable<ProviderConfig["staticKeys"]>;
const NO_STATIC: StaticKeys = { jwks: null, jwksFile: null, pem: null };

async function startRegistry(overrides: Partial<ProviderConfig>): Promise<ProviderRegistry> {
  const registry = createProviderRegistry([providerConfig(ISSUER, { discovery: false, ...overrides })], {
    tokenCacheMaxEntries: 100,
    retryInitialMs: 20,
    retryMaxMs: 50,
  });
  cleanups.push(() => registry.close());
  await registry.start();
  return registry;
}

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("a provider without discovery", () => {
  it("fetches only the configured jwksUri, never a discovery document, and verifies its tokens", async () => {
    const key = await createSigningKey("k1");
    const idp = await startLoopbackIdp([key.publicJwk]);
    cleanups.push(() => idp.close());
    const registry = await startRegistry({ jwksUri: `${idp.issuer}/jwks` });
    expect(registry.isReady()).toBe(true);
    expect(await registry.verify(await signToken(key, ISSUER), [])).toMatchObject({ ok: true, provider: "demo" });
    expect(idp.requests).toEqual({ discovery: 0, jwks: 1, other: 0 });
    // No discovery document: nothing to log in with.
    expect(registry.loaded("demo")).toBeNull();
  });

  it("verifies tokens with an inline JWK Set and is ready without any request", async () => {
    const key = await createSigningKey("inline-1", "ES256");
    const registry = await startRegistry({
      algorithms: ["ES256"],
      staticKeys: { ...NO_STATIC, jwks: JSON.stringify({ keys: [key.publicJwk] }) },
    });
    expect(registry.isReady()).toBe(true);
    expect(await registry.verify(await signToken(key, ISSUER), [])).toMatchObject({ ok: true });
  });

  it("verifies tokens with a JWK Set file and picks up a key rotated into the file on an unknown kid", async () => {
    const first = await createSigningKey("file-1");
    const second = await createSigningKey("file-2");
    const file = join(dir, "rotating.json");
    writeFileSync(file, JSON.stringify({ keys: [first.publicJwk] }));
    const registry = await startRegistry({ jwksCooldownSeconds: 0, staticKeys: { ...NO_STATIC, jwksFile: file } });
    expect(await registry.verify(await signToken(first, ISSUER), [])).toMatchObject({ ok: true });
    expect(await registry.verify(await signToken(second, ISSUER), [])).toMatchObject({ code: "key_not_found" });
    writeFileSync(file, JSON.stringify({ keys: [second.publicJwk] }));
    expect(await registry.verify(await signToken(second, ISSUER), [])).toMatchObject({ ok: true });
  });

  it("verifies tokens with a PEM public key under its configured kid, and a kid-less PEM key only kid-less tokens", async () => {
    const key = await createSigningKey("pem-1");
    const file = join(dir, "key.pem");
    writeFileSync(file, await exportSPKI(key.publicKey));
    const named = await startRegistry({ staticKeys: { ...NO_STATIC, pem: [{ file, kid: "pem-1" }] } });
    expect(await named.verify(await signToken(key, ISSUER), [])).toMatchObject({ ok: true });
    named.close();
    const unnamed = await startRegistry({ staticKeys: { ...NO_STATIC, pem: [{ file, kid: null }] } });
    expect(await unnamed.verify(await signToken(key, ISSUER, {}, { kid: null }), [])).toMatchObject({ ok: true });
    expect(await unnamed.verify(await signToken(key, ISSUER), [])).toMatchObject({ code: "key_not_found" });
  });

  it("verifies tokens with the public key of a PEM certificate", async () => {
    const cert = await ensureDemoCertificate(join(dir, "cert"));
    const privateKey = createPrivateKey(readFileSync(cert.keyFile));
    const registry = await startRegistry({
      algorithms: ["ES256"],
      staticKeys: { ...NO_STATIC, pem: [{ file: cert.certFile, kid: "cert-1" }] },
    });
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ iss: ISSUER, aud: "api", sub: "svc", iat: now, exp: now + 60 })
      .setProtectedHeader({ alg: "ES256", kid: "cert-1" })
      .sign(privateKey);
    expect(await registry.verify(token, [])).toMatchObject({ ok: true });
  });

  it("stays not ready, saying why without key material, when a PEM file holds a private key", async () => {
    const key = await createSigningKey("secret-1");
    const pkcs8 = await exportPKCS8(key.privateKey);
    const file = join(dir, "private.pem");
    writeFileSync(file, pkcs8);
    const registry = await startRegistry({ staticKeys: { ...NO_STATIC, pem: [{ file, kid: null }] } });
    await eventually(() => registry.status()[0]?.lastError !== undefined);
    expect(registry.isReady()).toBe(false);
    const [status] = registry.status();
    expect(status?.lastError).toBe(`jwks: PEM file ${file} holds a private key`);
    expect(await registry.verify(await signToken(key, ISSUER), [])).toMatchObject({ code: "jwks_unavailable" });
  });

  it("stays not ready when the JWK Set file is missing, and becomes ready once it appears", async () => {
    const key = await createSigningKey("late-1");
    const file = join(dir, "late.json");
    const registry = await startRegistry({ staticKeys: { ...NO_STATIC, jwksFile: file } });
    expect(registry.isReady()).toBe(false);
    expect(registry.status()[0]?.lastError).toBe(`jwks: cannot read ${file} (ENOENT)`);
    writeFileSync(file, JSON.stringify({ keys: [key.publicJwk] }));
    await eventually(() => registry.isReady());
    expect(await registry.verify(await signToken(key, ISSUER), [])).toMatchObject({ ok: true });
  });
});
