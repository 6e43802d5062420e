// Attacks on the bearer JWT path that verifies with node:crypto instead of jose, each named after the
// rule it breaks, through the registry a check uses: the answer must be a denial with the code jose's
// path gave (oidcBearerSignature.test.ts and the differential test cover the rest of the battery).
import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { ProviderConfig } from "../../src/config/PortcullisConfig.ts";
import { createProviderRegistry, type ProviderRegistry } from "../../src/oidc/ProviderRegistry.ts";
import { providerConfig, startLoopbackIdp, type LoopbackIdp } from "./oidcLoopbackIdp.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const rsaNoAlg = generateKeyPairSync("rsa", { modulusLength: 2048 });
const small = generateKeyPairSync("rsa", { modulusLength: 1024 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
const ed448 = generateKeyPairSync("ed448");
const attacker = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwkOf = (key: KeyObject, extra: object) => ({ ...key.export({ format: "jwk" }), ...extra });

async function setup(
  overrides: Partial<ProviderConfig> = {},
): Promise<{ idp: LoopbackIdp; registry: ProviderRegistry }> {
  const idp = await startLoopbackIdp([
    jwkOf(rsa.publicKey, { kid: "r1", alg: "RS256", use: "sig" }),
    jwkOf(rsaNoAlg.publicKey, { kid: "r2", use: "sig" }),
    jwkOf(small.publicKey, { kid: "small", alg: "RS256" }),
    jwkOf(ec.publicKey, { kid: "e1", alg: "ES256" }),
    jwkOf(ed448.publicKey, { kid: "d448" }),
    jwkOf(rsa.publicKey, { kid: "enc", use: "enc" }),
  ]);
  cleanups.push(() => idp.close());
  const registry = createProviderRegistry([providerConfig(idp.issuer, overrides)], {
    tokenCacheMaxEntries: 100,
    observer: { jwksFetch: () => undefined, tokenCache: () => undefined },
  });
  cleanups.push(() => registry.close());
  await registry.start();
  return { idp, registry };
}

const b64 = (value: object | string | Buffer): string =>
  (Buffer.isBuffer(value) ? value : Buffer.from(typeof value === "string" ? value : JSON.stringify(value))).toString(
    "base64url",
  );

function claims(idp: LoopbackIdp, extra: object = {}): object {
  const now = Math.floor(Date.now() / 1000);
  return { iss: idp.issuer, aud: "api", sub: "alice", iat: now, exp: now + 300, ...extra };
}

/** A compact JWS; `payload` may be raw JSON text (for duplicate keys and the like). */
function compact(header: object, payload: object | string, signer: (input: Buffer) => Buffer): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${signer(Buffer.from(input)).toString("base64url")}`;
}
const rs256 = (input: Buffer) => sign("sha256", input, rsa.privateKey);
const rs256By = (key: KeyObject) => (input: Buffer) => sign("sha256", input, key);
const refused = (code: string) => ({ ok: false, code });

describe("bearer JWT attacks on the node:crypto verification", () => {
  it("alg allowlist from config: an alg the key could verify but the provider does not allow is refused", async () => {
    const { registry, idp } = await setup({ algorithms: ["ES256"] });
    const token = compact({ alg: "RS256", kid: "r1" }, claims(idp), rs256);
    expect(await registry.verify(token, [])).toMatchObject(refused("alg_not_allowed"));
  });

  it("alg none: an unsigned token is refused, and a config cannot allow none or HS256", async () => {
    const { registry, idp } = await setup();
    const token = `${b64({ alg: "none" })}.${b64(claims(idp))}.`;
    expect(await registry.verify(token, [])).toMatchObject({ ok: false });
    const lower = compact({ alg: "rs256", kid: "r1" }, claims(idp), rs256);
    expect(await registry.verify(lower, [])).toMatchObject(refused("alg_not_allowed"));
    for (const algorithms of [
      ["RS256", "none"],
      ["RS256", "hs256"],
    ])
      expect(() =>
        createProviderRegistry([providerConfig(idp.issuer, { algorithms })], { tokenCacheMaxEntries: 1 }),
      ).toThrow(/asymmetric/);
  });

  it("alg/key type: PS256 over an RSA key without alg needs a PSS signature, an RS256 one is refused", async () => {
    const { registry, idp } = await setup();
    const rsAsPs = compact({ alg: "PS256", kid: "r2" }, claims(idp), rs256By(rsaNoAlg.privateKey));
    expect(await registry.verify(rsAsPs, [])).toMatchObject(refused("signature_invalid"));
    const pss = (input: Buffer) => sign("sha256", input, { key: rsaNoAlg.privateKey, padding: 6, saltLength: 32 });
    const psAsRs = compact({ alg: "RS256", kid: "r2" }, claims(idp), pss);
    expect(await registry.verify(psAsRs, [])).toMatchObject(refused("signature_invalid"));
    // PSS with a salt other than the digest's length (RFC 7518 §3.5) is not PS256.
    const shortSalt = (input: Buffer) => sign("sha256", input, { key: rsaNoAlg.privateKey, padding: 6, saltLength: 0 });
    expect(await registry.verify(compact({ alg: "PS256", kid: "r2" }, claims(idp), shortSalt), [])).toMatchObject(
      refused("signature_invalid"),
    );
    expect(await registry.verify(compact({ alg: "PS256", kid: "r2" }, claims(idp), pss), [])).toMatchObject({
      ok: true,
    });
  });

  it("alg/key type: EdDSA naming an Ed448 or RSA key, and ES384 naming a P-256 key, find no key", async () => {
    const { registry, idp } = await setup({ algorithms: ["RS256", "ES256", "ES384", "EdDSA"] });
    const ed448Token = compact({ alg: "EdDSA", kid: "d448" }, claims(idp), (input) =>
      sign(null, input, ed448.privateKey),
    );
    expect(await registry.verify(ed448Token, [])).toMatchObject(refused("key_not_found"));
    const edOverRsa = compact({ alg: "EdDSA", kid: "r2" }, claims(idp), rs256By(rsaNoAlg.privateKey));
    expect(await registry.verify(edOverRsa, [])).toMatchObject(refused("key_not_found"));
    const es384 = compact({ alg: "ES384", kid: "e1" }, claims(idp), (input) =>
      sign("sha384", input, { key: ec.privateKey, dsaEncoding: "ieee-p1363" }),
    );
    expect(await registry.verify(es384, [])).toMatchObject(refused("key_not_found"));
  });

  it("key use: a member published for encryption never verifies", async () => {
    const { registry, idp } = await setup();
    expect(await registry.verify(compact({ alg: "RS256", kid: "enc" }, claims(idp), rs256), [])).toMatchObject(
      refused("key_not_found"),
    );
  });

  it("RSA key size: a 1024-bit member is not used, even for a token signed by it", async () => {
    const { registry, idp } = await setup();
    const token = compact({ alg: "RS256", kid: "small" }, claims(idp), rs256By(small.privateKey));
    expect(await registry.verify(token, [])).toMatchObject(refused("key_not_found"));
  });

  it("embedded keys: a header's jwk, jku or x5c is never the verifying key", async () => {
    const { registry, idp } = await setup();
    const header = {
      alg: "RS256",
      kid: "r1",
      jwk: attacker.publicKey.export({ format: "jwk" }),
      jku: "http://127.0.0.1:1/keys",
      x5c: ["AAAA"],
    };
    const token = compact(header, claims(idp), rs256By(attacker.privateKey));
    expect(await registry.verify(token, [])).toMatchObject(refused("signature_invalid"));
  });

  it("kid: a kid that is not a string names no member (a number, an array, null)", async () => {
    const { registry, idp } = await setup();
    for (const kid of [1, ["r1"], null]) {
      const token = compact({ alg: "RS256", kid }, claims(idp), rs256);
      expect((await registry.verify(token, [])).ok).toBe(false);
    }
  });

  it("ES256 signature format: r‖s of 64 bytes only (63, 65 bytes and r = s = 0 refused)", async () => {
    const { registry, idp } = await setup();
    const valid = compact({ alg: "ES256", kid: "e1" }, claims(idp), (input) =>
      sign("sha256", input, { key: ec.privateKey, dsaEncoding: "ieee-p1363" }),
    );
    const [header, payload, signature] = valid.split(".") as [string, string, string];
    const bytes = Buffer.from(signature, "base64url");
    for (const wrong of [bytes.subarray(1), Buffer.concat([Buffer.alloc(1), bytes]), Buffer.alloc(64)]) {
      const token = `${header}.${payload}.${wrong.toString("base64url")}`;
      expect(await registry.verify(token, [])).toMatchObject(refused("signature_invalid"));
    }
    expect(await registry.verify(valid, [])).toMatchObject({ ok: true });
  });

  it("base64url strictness: padding, the base64 alphabet and whitespace in any part are refused", async () => {
    const { registry, idp } = await setup();
    const valid = compact({ alg: "RS256", kid: "r1" }, claims(idp), rs256);
    const [header, payload, signature] = valid.split(".") as [string, string, string];
    const variants = [
      `${header}=.${payload}.${signature}`,
      `${header}.${payload}=.${signature}`,
      `${header}.${payload}.${signature}==`,
      `${header}.${payload}.${signature.replace(/[-_]/, "+")}`,
      `${header}.${payload.slice(0, 4)} ${payload.slice(4)}.${signature}`,
      `${header}.${payload}.${signature.slice(0, 4)}/${signature.slice(5)}`,
    ];
    for (const token of variants) expect((await registry.verify(token, [])).ok).toBe(false);
  });

  it("JWS serializations: JSON serialization, a 5-part JWE and a 2-part token are refused", async () => {
    const { registry, idp } = await setup();
    const valid = compact({ alg: "RS256", kid: "r1" }, claims(idp), rs256);
    const [header, payload, signature] = valid.split(".") as [string, string, string];
    const json = JSON.stringify({ protected: header, payload, signature });
    for (const token of [json, `${header}.${payload}.${signature}.x.y`, `${header}.${payload}`, `${valid}.`]) {
      expect((await registry.verify(token, [])).ok).toBe(false);
    }
  });

  it("duplicate JSON keys: the last one counts for every check (an expired last exp is expired)", async () => {
    const { registry, idp } = await setup();
    const now = Math.floor(Date.now() / 1000);
    const base = JSON.stringify(claims(idp)).slice(0, -1);
    const expiredLast = `${base},"exp":${now + 9999},"exp":${now - 3600}}`;
    expect(await registry.verify(compact({ alg: "RS256", kid: "r1" }, expiredLast, rs256), [])).toMatchObject(
      refused("token_expired"),
    );
    const otherAudLast = `${base},"aud":"api","aud":"someone-else"}`;
    expect(await registry.verify(compact({ alg: "RS256", kid: "r1" }, otherAudLast, rs256), [])).toMatchObject(
      refused("audience_mismatch"),
    );
    const algLast = compact(JSON.parse('{"alg":"RS256","kid":"r1"}'), claims(idp), rs256).split(".");
    const header = b64('{"alg":"RS256","kid":"r1","alg":"HS256"}');
    const token = `${header}.${algLast[1]}.${rs256(Buffer.from(`${header}.${algLast[1]}`)).toString("base64url")}`;
    expect(await registry.verify(token, [])).toMatchObject(refused("alg_not_allowed"));
  });

  it("__proto__: a payload's __proto__ member supplies no claim (aud and exp must be its own)", async () => {
    const { registry, idp } = await setup();
    const now = Math.floor(Date.now() / 1000);
    const noAud = `{"iss":${JSON.stringify(idp.issuer)},"sub":"alice","exp":${now + 300},"__proto__":{"aud":"api"}}`;
    expect((await registry.verify(compact({ alg: "RS256", kid: "r1" }, noAud, rs256), [])).ok).toBe(false);
    const noExp = `{"iss":${JSON.stringify(idp.issuer)},"sub":"alice","aud":"api","__proto__":{"exp":${now + 300}}}`;
    expect((await registry.verify(compact({ alg: "RS256", kid: "r1" }, noExp, rs256), [])).ok).toBe(false);
    const protoHeader = b64('{"__proto__":{"alg":"RS256","kid":"r1"}}');
    const payload = b64(claims(idp));
    const signed = `${protoHeader}.${payload}.${rs256(Buffer.from(`${protoHeader}.${payload}`)).toString("base64url")}`;
    expect(await registry.verify(signed, [])).toMatchObject(refused("token_malformed"));
  });

  it("time claims: exp as a string, exp of 1e400, a negative exp and an nbf past the tolerance are refused", async () => {
    const { registry, idp } = await setup();
    const now = Math.floor(Date.now() / 1000);
    const base = `{"iss":${JSON.stringify(idp.issuer)},"aud":"api","sub":"alice","iat":${now}`;
    const payloads = [
      `${base},"exp":"${now + 300}"}`,
      `${base},"exp":1e400}`,
      `${base},"exp":-1}`,
      `${base},"exp":${now + 300},"nbf":${now + 120}}`,
      `${base},"exp":${now + 300},"nbf":"0"}`,
      `${base},"exp":${now + 300},"iat":${now + 600}}`,
      `${base},"exp":${now - 61}}`,
    ];
    for (const payload of payloads) {
      expect((await registry.verify(compact({ alg: "RS256", kid: "r1" }, payload, rs256), [])).ok).toBe(false);
    }
    // Within the tolerance (60 s) both ways, as jose allows.
    const lenient = `${base},"exp":${now - 30},"nbf":${now + 30}}`;
    expect(await registry.verify(compact({ alg: "RS256", kid: "r1" }, lenient, rs256), [])).toMatchObject({
      ok: true,
    });
  });

  it("typ: a required at+jwt refuses JWT and an absent typ, accepts application/at+jwt in any case", async () => {
    const { registry, idp } = await setup({ requireAccessTokenType: true });
    for (const typ of ["JWT", undefined, "at+jwt+x", "application/jwt"]) {
      const token = compact({ alg: "RS256", kid: "r1", ...(typ ? { typ } : {}) }, claims(idp), rs256);
      expect((await registry.verify(token, [])).ok).toBe(false);
    }
    const ok = compact({ alg: "RS256", kid: "r1", typ: "Application/AT+JWT" }, claims(idp), rs256);
    expect(await registry.verify(ok, [])).toMatchObject({ ok: true });
  });

  it("aud: an array naming only other audiences, an empty array and a non-string audience are refused", async () => {
    const { registry, idp } = await setup();
    for (const aud of [["other", "x"], [], [["api"]], { api: true }, null]) {
      const token = compact({ alg: "RS256", kid: "r1" }, claims(idp, { aud }), rs256);
      expect((await registry.verify(token, [])).ok).toBe(false);
    }
    const ok = compact({ alg: "RS256", kid: "r1" }, claims(idp, { aud: ["other", "api"] }), rs256);
    expect(await registry.verify(ok, [])).toMatchObject({ ok: true });
  });

  it("iss: a token signed by this provider's key but naming another issuer is refused", async () => {
    const { registry, idp } = await setup();
    const token = compact({ alg: "RS256", kid: "r1" }, claims(idp, { iss: `${idp.issuer}/evil` }), rs256);
    expect((await registry.verify(token, [])).ok).toBe(false);
    const noIss = compact({ alg: "RS256", kid: "r1" }, claims(idp, { iss: undefined }), rs256);
    expect((await registry.verify(noIss, [])).ok).toBe(false);
  });

  it("header shape: an array, a string or an empty alg as the header is refused as token_malformed", async () => {
    const { registry, idp } = await setup();
    const payload = b64(claims(idp));
    for (const header of ['["RS256"]', '"RS256"', '{"alg":"","kid":"r1"}', '{"alg":["RS256"],"kid":"r1"}']) {
      const input = `${b64(header)}.${payload}`;
      const token = `${input}.${rs256(Buffer.from(input)).toString("base64url")}`;
      expect(await registry.verify(token, [])).toMatchObject(refused("token_malformed"));
    }
  });
});
