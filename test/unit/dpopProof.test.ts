// A DPoP proof (RFC 9449 §4.3) is accepted only when every check holds: one compact JWS, typ
// dpop+jwt, an allowed asymmetric alg, a public jwk that signed it and whose thumbprint is the token's
// cnf.jkt, htm and htu of this request, a current nonce when one is required, iat within the window,
// ath of this token and a bounded jti; and only once (the replay store).
import { generateKeyPairSync, randomUUID } from "node:crypto";
import { exportJWK, calculateJwkThumbprint, SignJWT, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import {
  checkDpopProof,
  REPLAY_MARGIN_MS,
  tokenHash,
  type DpopPolicy,
  type DpopPresentation,
} from "../../src/oidc/checkDpopProof.ts";
import { createDpopNonces } from "../../src/oidc/createDpopNonces.ts";
import { createMemoryDpopReplayStore } from "../../src/oidc/createMemoryDpopReplayStore.ts";
import { DPOP_ALGORITHMS } from "../../src/config/dpopSchema.ts";
import { verifyDpopProof } from "../../src/oidc/verifyDpopProof.ts";
import { createManualClock } from "../harness/createManualClock.ts";

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);
const TOKEN = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl";
const URI = "https://api.example.com/things";

type KeyAlg = "ES256" | "ES384" | "EdDSA" | "PS256" | "RS256";

async function keyPairFor(alg: KeyAlg) {
  const pair =
    alg === "ES256"
      ? generateKeyPairSync("ec", { namedCurve: "P-256" })
      : alg === "ES384"
        ? generateKeyPairSync("ec", { namedCurve: "P-384" })
        : alg === "EdDSA"
          ? generateKeyPairSync("ed25519")
          : generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = await exportJWK(pair.publicKey);
  return { alg, privateKey: pair.privateKey, jwk, jkt: await calculateJwkThumbprint(jwk) };
}

const es256 = await keyPairFor("ES256");

interface ProofOptions {
  readonly claims?: Record<string, unknown>;
  readonly header?: Record<string, unknown>;
  readonly key?: Awaited<ReturnType<typeof keyPairFor>>;
}

async function proof(options: ProofOptions = {}): Promise<string> {
  const key = options.key ?? es256;
  return new SignJWT({
    jti: randomUUID(),
    htm: "GET",
    htu: URI,
    iat: Math.floor(NOW / 1000),
    ath: tokenHash(TOKEN),
    ...options.claims,
  })
    .setProtectedHeader({ typ: "dpop+jwt", alg: key.alg, jwk: key.jwk as JWK, ...options.header } as never)
    .sign(key.privateKey);
}

const policy: DpopPolicy = {
  algorithms: new Set(DPOP_ALGORITHMS),
  maxAgeSeconds: 60,
  futureSkewSeconds: 5,
  nonces: null,
};

function presented(proofValue: string | undefined, overrides: Partial<DpopPresentation> = {}): DpopPresentation {
  return { proof: proofValue, method: "GET", targetUri: URI, accessToken: TOKEN, jkt: es256.jkt, ...overrides };
}

const detailOf = (p: DpopPresentation, pol: DpopPolicy = policy) => {
  const checked = checkDpopProof(p, pol, NOW);
  return checked.ok ? "ok" : `${checked.error}: ${checked.detail}`;
};

describe("a DPoP proof", () => {
  it.each(DPOP_ALGORITHMS)("signed with %s by the token's key for this request is accepted", async (alg) => {
    const key = await keyPairFor(alg);
    expect(detailOf(presented(await proof({ key }), { jkt: key.jkt }))).toBe("ok");
  });

  it("is refused when missing, or when several DPoP headers were joined", async () => {
    const good = await proof();
    expect(detailOf(presented(undefined))).toBe("invalid_dpop_proof: no DPoP proof");
    expect(detailOf(presented(`${good},${good}`))).toMatch(/more than one DPoP header/);
  });

  it("is refused when it is not a compact JWS or is oversized", async () => {
    expect(detailOf(presented("abc"))).toMatch(/not a compact JWS/);
    expect(detailOf(presented("a.b.c.d"))).toMatch(/not a compact JWS/);
    expect(detailOf(presented("a.b."))).toMatch(/not a compact JWS/);
    expect(detailOf(presented(`${"a".repeat(17_000)}.b.c`))).toMatch(/longer than/);
  });

  it("is refused with another typ, a crit header, none, HS256 or an alg outside the allowlist", async () => {
    expect(detailOf(presented(await proof({ header: { typ: "JWT" } })))).toMatch(/typ/);
    expect(detailOf(presented(await proof({ header: { crit: ["b64"], b64: true } })))).toMatch(/crit/);
    const noneHeader = Buffer.from(JSON.stringify({ typ: "dpop+jwt", alg: "none", jwk: es256.jwk })).toString(
      "base64url",
    );
    expect(detailOf(presented(`${noneHeader}.${Buffer.from("{}").toString("base64url")}.AA`))).toMatch(/alg/);
    const hsHeader = Buffer.from(JSON.stringify({ typ: "dpop+jwt", alg: "HS256", jwk: { kty: "oct", k: "AAAA" } }));
    expect(detailOf(presented(`${hsHeader.toString("base64url")}.e30.AA`))).toMatch(/alg is not allowed/);
    const onlyEdDsa = { ...policy, algorithms: new Set(["EdDSA"]) };
    expect(detailOf(presented(await proof()), onlyEdDsa)).toMatch(/alg is not allowed/);
  });

  it("is refused when its jwk carries private or symmetric key material, or does not fit the alg", async () => {
    const privateJwk = await exportJWK(es256.privateKey);
    expect(detailOf(presented(await proof({ header: { jwk: privateJwk } })))).toMatch(/private or symmetric/);
    expect(detailOf(presented(await proof({ header: { jwk: { ...es256.jwk, k: "AAAA" } } })))).toMatch(/private/);
    const p384 = await keyPairFor("ES384");
    expect(detailOf(presented(await proof({ header: { jwk: p384.jwk } })))).toMatch(/crv does not fit/);
    expect(
      detailOf(presented(await proof({ header: { jwk: { kty: "EC", crv: "P-256", x: "AA", y: "AA" } } }))),
    ).toMatch(/not an importable public key|does not fit/);
    expect(detailOf(presented(await proof({ header: { jwk: "key" } })))).toMatch(/no jwk object/);
  });

  it("is refused when signed by another key than the jwk it names", async () => {
    const other = await keyPairFor("ES256");
    const forged = await proof({ key: { ...other, jwk: es256.jwk } });
    expect(detailOf(presented(forged))).toMatch(/signature does not verify/);
  });

  it("is refused when its key is not the token's cnf.jkt", async () => {
    const other = await keyPairFor("ES256");
    expect(detailOf(presented(await proof({ key: other })))).toMatch(/not the token's cnf.jkt/);
  });

  it("is refused for another method or another URI, and matches a URI spelled another way", async () => {
    expect(detailOf(presented(await proof({ claims: { htm: "POST" } })))).toMatch(/htm/);
    expect(detailOf(presented(await proof({ claims: { htm: "get" } })))).toMatch(/htm/);
    expect(detailOf(presented(await proof({ claims: { htu: "https://api.example.com/other" } })))).toMatch(/htu/);
    expect(detailOf(presented(await proof({ claims: { htu: "https://evil.example.com/things" } })))).toMatch(/htu/);
    expect(detailOf(presented(await proof({ claims: { htu: "http://api.example.com/things" } })))).toMatch(/htu/);
    expect(detailOf(presented(await proof({ claims: { htu: 7 } })))).toMatch(/htu/);
    const spelled = "HTTPS://API.Example.COM:443/%74hings?page=2#top";
    expect(detailOf(presented(await proof({ claims: { htu: spelled } })))).toBe("ok");
  });

  it("is refused when iat is outside the window or not a number", async () => {
    const iat = (seconds: number) => proof({ claims: { iat: Math.floor(NOW / 1000) + seconds } });
    expect(detailOf(presented(await iat(-60)))).toBe("ok");
    expect(detailOf(presented(await iat(-61)))).toMatch(/too old/);
    expect(detailOf(presented(await iat(5)))).toBe("ok");
    expect(detailOf(presented(await iat(6)))).toMatch(/in the future/);
    expect(detailOf(presented(await proof({ claims: { iat: "now" } })))).toMatch(/iat is not a number/);
    expect(detailOf(presented(await proof({ claims: { iat: undefined } })))).toMatch(/iat is not a number/);
  });

  it("is refused when ath is missing or the hash of another token", async () => {
    expect(detailOf(presented(await proof({ claims: { ath: undefined } })))).toMatch(/ath/);
    expect(detailOf(presented(await proof({ claims: { ath: tokenHash(`${TOKEN}x`) } })))).toMatch(/ath/);
  });

  it("is refused without a jti or with an unbounded one", async () => {
    expect(detailOf(presented(await proof({ claims: { jti: undefined } })))).toMatch(/jti/);
    expect(detailOf(presented(await proof({ claims: { jti: "" } })))).toMatch(/jti/);
    expect(detailOf(presented(await proof({ claims: { jti: "x".repeat(257) } })))).toMatch(/jti/);
  });
});

describe("server nonces", () => {
  const clock = createManualClock(NOW);
  const nonces = createDpopNonces({ secret: Buffer.alloc(32, 7), windowSeconds: 300, clock });
  const withNonces = { ...policy, nonces };

  it("ask for a nonce when the proof has none or an unknown one, and accept the current one", async () => {
    expect(detailOf(presented(await proof()), withNonces)).toBe("use_dpop_nonce: DPoP proof without a nonce");
    expect(detailOf(presented(await proof({ claims: { nonce: "made-up" } })), withNonces)).toMatch(/use_dpop_nonce/);
    expect(detailOf(presented(await proof({ claims: { nonce: nonces.current() } })), withNonces)).toBe("ok");
  });

  it("accept the previous window's nonce, refuse older ones and those made with another secret", () => {
    const issued = nonces.current();
    expect(nonces.accepts(issued)).toBe(true);
    clock.advance(300_000);
    expect(nonces.accepts(issued)).toBe(true);
    expect(nonces.current()).not.toBe(issued);
    clock.advance(300_000);
    expect(nonces.accepts(issued)).toBe(false);
    const other = createDpopNonces({ secret: Buffer.alloc(32, 8), windowSeconds: 300, clock });
    expect(nonces.accepts(other.current())).toBe(false);
    expect(nonces.accepts(undefined)).toBe(false);
    const current = nonces.current();
    const respelled = `${current.slice(0, -1)}${current.endsWith("A") ? "B" : "A"}`;
    expect(nonces.accepts(respelled)).toBe(false);
  });

  it("refuse a secret shorter than 32 bytes", () => {
    expect(() => createDpopNonces({ secret: Buffer.alloc(16), windowSeconds: 60, clock })).toThrow(/32 bytes/);
  });
});

describe("replays", () => {
  it("accepts a proof once and refuses it the second time, for as long as it could be accepted", async () => {
    const clock = createManualClock(NOW);
    const store = createMemoryDpopReplayStore({ maxEntries: 10, clock });
    const once = presented(await proof());
    expect(await verifyDpopProof(once, policy, store, NOW)).toEqual({ ok: true });
    const again = await verifyDpopProof(once, policy, store, NOW);
    expect(again).toMatchObject({ ok: false, error: "invalid_dpop_proof", detail: expect.stringMatching(/replayed/) });
    clock.advance(65_000 + REPLAY_MARGIN_MS + 1);
    expect(store.size()).toBe(1);
    await store.claim("another", 65_000);
    expect(store.size()).toBe(1);
  });

  it("refuses a replay at the last millisecond a proof dated ahead by the allowed skew is still accepted", async () => {
    const clock = createManualClock(NOW);
    const store = createMemoryDpopReplayStore({ maxEntries: 10, clock });
    const ahead = presented(await proof({ claims: { iat: Math.floor(NOW / 1000) + policy.futureSkewSeconds } }));
    expect(await verifyDpopProof(ahead, policy, store, NOW)).toEqual({ ok: true });
    // iat + maxAge: the proof's own checks still pass here, so only the store stands against a replay.
    const lastAccepted = NOW + (policy.futureSkewSeconds + policy.maxAgeSeconds) * 1000;
    clock.advance(lastAccepted - NOW);
    expect(checkDpopProof(ahead, policy, lastAccepted).ok).toBe(true);
    expect(await verifyDpopProof(ahead, policy, store, lastAccepted)).toMatchObject({
      ok: false,
      error: "invalid_dpop_proof",
      detail: expect.stringMatching(/replayed/),
    });
  });

  it("fails closed when the memory store is full of unexpired proofs, and when the store faults", async () => {
    const clock = createManualClock(NOW);
    const store = createMemoryDpopReplayStore({ maxEntries: 1, clock });
    expect(await verifyDpopProof(presented(await proof()), policy, store, NOW)).toEqual({ ok: true });
    expect(await verifyDpopProof(presented(await proof()), policy, store, NOW)).toMatchObject({
      ok: false,
      error: "unavailable",
    });
    const broken = { claim: () => Promise.reject(new Error("connection reset")) };
    expect(await verifyDpopProof(presented(await proof()), policy, broken, NOW)).toMatchObject({
      ok: false,
      error: "unavailable",
    });
  });

  it("makes room for a new proof from expired ones when providers' proof windows differ", async () => {
    const clock = createManualClock(NOW);
    const store = createMemoryDpopReplayStore({ maxEntries: 3, clock });
    expect(await store.claim("long-window", 600_000)).toBe("fresh");
    expect(await store.claim("short-1", 10_000)).toBe("fresh");
    expect(await store.claim("short-2", 10_000)).toBe("fresh");
    clock.advance(10_001);
    expect(await store.claim("short-3", 10_000)).toBe("fresh");
    expect(await store.claim("long-window", 600_000)).toBe("replayed");
  });

  it("asks the store nothing for a proof that failed its checks", async () => {
    let asked = 0;
    const counting = { claim: () => ((asked += 1), Promise.resolve("fresh" as const)) };
    await verifyDpopProof(presented(await proof({ claims: { htm: "PUT" } })), policy, counting, NOW);
    expect(asked).toBe(0);
  });
});
