// The bearer path verifies signatures itself (node:crypto on the KeyObjects prepared when the key set
// was adopted): what it must refuse or accept on its own, through the registry a check uses, beside
// the differential test that holds it to jose (oidcJwsDifferential.test.ts).
import { createHmac, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { ProviderConfig } from "../../src/config/PortcullisConfig.ts";
import { createProviderRegistry, type ProviderRegistry } from "../../src/oidc/ProviderRegistry.ts";
import { providerConfig, startLoopbackIdp, type LoopbackIdp } from "./oidcLoopbackIdp.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const ed = generateKeyPairSync("ed25519");
const jwkOf = (key: KeyObject, kid: string, alg: string) => ({
  ...key.export({ format: "jwk" }),
  kid,
  alg,
  use: "sig",
});

interface Setup {
  readonly idp: LoopbackIdp;
  readonly registry: ProviderRegistry;
  readonly cache: boolean[];
}

async function setup(overrides: Partial<ProviderConfig> = {}): Promise<Setup> {
  const idp = await startLoopbackIdp([
    jwkOf(rsa.publicKey, "r1", "RS256"),
    jwkOf(ec.publicKey, "e1", "ES256"),
    jwkOf(ed.publicKey, "d1", "EdDSA"),
  ]);
  cleanups.push(() => idp.close());
  const cache: boolean[] = [];
  const registry = createProviderRegistry([providerConfig(idp.issuer, overrides)], {
    tokenCacheMaxEntries: 100,
    observer: { jwksFetch: () => undefined, tokenCache: (hit) => void cache.push(hit) },
  });
  cleanups.push(() => registry.close());
  await registry.start();
  return { idp, registry, cache };
}

const b64 = (value: object | Buffer): string =>
  (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString("base64url");

function claims(idp: LoopbackIdp, extra: object = {}): object {
  const now = Math.floor(Date.now() / 1000);
  return { iss: idp.issuer, aud: "api", sub: "alice", iat: now, exp: now + 300, ...extra };
}

/** A compact JWS over `header` and `payload`, its signature made by `signer` over the signing input. */
function compact(header: object, payload: object, signer: (input: Buffer) => Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signer(Buffer.from(input)).toString("base64url")}`;
}
const rs256 = (input: Buffer) => sign("sha256", input, rsa.privateKey);
const es256 = (input: Buffer) => sign("sha256", input, { key: ec.privateKey, dsaEncoding: "ieee-p1363" });

describe("bearer signatures verified with prepared keys", () => {
  it("accepts RS256, PS256, ES256 and EdDSA tokens signed by the key their kid names", async () => {
    const { registry, idp } = await setup();
    const pss = (input: Buffer) => sign("sha256", input, { key: rsa.privateKey, padding: 6, saltLength: 32 });
    const tokens = [
      compact({ alg: "RS256", kid: "r1" }, claims(idp), rs256),
      compact({ alg: "ES256", kid: "e1" }, claims(idp), es256),
      compact({ alg: "EdDSA", kid: "d1" }, claims(idp), (input) => sign(null, input, ed.privateKey)),
    ];
    for (const token of tokens) expect(await registry.verify(token, [])).toMatchObject({ ok: true });
    // r1 says alg RS256: the same RSA key may not verify PS256.
    const psToken = compact({ alg: "PS256", kid: "r1" }, claims(idp), pss);
    expect(await registry.verify(psToken, [])).toMatchObject({ ok: false, code: "key_not_found" });
  });

  it("refuses an ES256 signature in DER form (JWS carries r‖s) as signature_invalid", async () => {
    const { registry, idp } = await setup();
    const der = compact({ alg: "ES256", kid: "e1" }, claims(idp), (input) => sign("sha256", input, ec.privateKey));
    expect(await registry.verify(der, [])).toMatchObject({ ok: false, code: "signature_invalid" });
  });

  it("refuses an RSA signature one byte short or long, or empty, as signature_invalid", async () => {
    const { registry, idp } = await setup();
    const valid = compact({ alg: "RS256", kid: "r1" }, claims(idp), rs256);
    const [header, payload, signature] = valid.split(".") as [string, string, string];
    const bytes = Buffer.from(signature, "base64url");
    for (const wrong of [bytes.subarray(1), Buffer.concat([bytes, Buffer.alloc(1)]), Buffer.alloc(0)]) {
      const token = `${header}.${payload}.${wrong.toString("base64url")}`;
      expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "signature_invalid" });
    }
  });

  it("refuses a signature whose base64url has a length no encoder writes (4n+1) as token_malformed", async () => {
    const { registry, idp } = await setup();
    const valid = compact({ alg: "RS256", kid: "r1" }, claims(idp), rs256);
    const padded = valid + "A".repeat((5 - (valid.split(".")[2]!.length % 4)) % 4);
    expect(padded.split(".")[2]!.length % 4).toBe(1);
    expect(await registry.verify(padded, [])).toMatchObject({ ok: false, code: "token_malformed" });
  });

  it("refuses an ES256 header over the RSA key, and HS256 with the RSA public key as the secret", async () => {
    const { registry, idp } = await setup({ algorithms: ["RS256", "ES256"] });
    const esOverRsa = compact({ alg: "ES256", kid: "r1" }, claims(idp), es256);
    expect(await registry.verify(esOverRsa, [])).toMatchObject({ ok: false, code: "key_not_found" });
    const secret = rsa.publicKey.export({ format: "pem", type: "spki" });
    const hs = compact({ alg: "HS256", kid: "r1" }, claims(idp), (input) =>
      createHmac("sha256", secret).update(input).digest(),
    );
    expect(await registry.verify(hs, [])).toMatchObject({ ok: false, code: "alg_not_allowed" });
  });

  it("refuses a kid that is not in the set after one refetch as key_not_found", async () => {
    const { registry, idp } = await setup({ jwksCooldownSeconds: 0 });
    const token = compact({ alg: "RS256", kid: "elsewhere" }, claims(idp), rs256);
    expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "key_not_found" });
    expect(idp.requests.jwks).toBe(2);
  });

  it("refuses a crit extension it does not process and an unencoded payload (b64 false) as token_malformed", async () => {
    const { registry, idp } = await setup();
    const crit = compact({ alg: "RS256", kid: "r1", crit: ["exp"], exp: 1 }, claims(idp), rs256);
    const unencoded = compact({ alg: "RS256", kid: "r1", crit: ["b64"], b64: false }, claims(idp), rs256);
    for (const token of [crit, unencoded])
      expect(await registry.verify(token, [])).toMatchObject({ ok: false, code: "token_malformed" });
  });

  it("refuses a header or payload that is not UTF-8 JSON as token_malformed", async () => {
    const { registry, idp } = await setup();
    const notUtf8 = `${b64(Buffer.from([0x7b, 0xff, 0x7d]))}.${b64(claims(idp))}.${b64(Buffer.alloc(256))}`;
    expect(await registry.verify(notUtf8, [])).toMatchObject({ ok: false, code: "token_malformed" });
    // A claim value with a byte that is not UTF-8: jose refuses it rather than read U+FFFD.
    const text = JSON.stringify(claims(idp, { name: "X" })).replace('"X"', '"\xff"');
    const input = `${b64({ alg: "RS256", kid: "r1" })}.${b64(Buffer.from(text, "latin1"))}`;
    const signed = `${input}.${rs256(Buffer.from(input)).toString("base64url")}`;
    expect(await registry.verify(signed, [])).toMatchObject({ ok: false, code: "token_malformed" });
  });

  it("verifies identical concurrent first-seen tokens once: the others are cache hits", async () => {
    const { registry, idp, cache } = await setup();
    const token = compact({ alg: "RS256", kid: "r1" }, claims(idp), rs256);
    const outcomes = await Promise.all(Array.from({ length: 5 }, () => registry.verify(token, [])));
    for (const outcome of outcomes) expect(outcome).toMatchObject({ ok: true });
    expect(cache).toEqual([false, true, true, true, true]);
  });
});
