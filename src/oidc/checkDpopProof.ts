// The checks of one DPoP proof against the request it came with (RFC 9449 §4.3), in the RFC's order
// where it matters: exactly one compact JWS, its header (readDpopProofHeader), the signature with the
// proof's own key, that key's thumbprint = the token's `cnf.jkt` (compared in constant time), `htm`,
// `htu`, the server's nonce when one is required, `iat` within the window, `ath` = the token's hash,
// a bounded `jti`. Synchronous and pure but for the clock reading passed in: whether the jti was seen
// before is the replay store's question, asked by verifyDpopProof with the key this returns.
import { createHash, timingSafeEqual, verify } from "node:crypto";
import { decodeBase64url, isBase64url, parseJsonObject } from "./compactJwt.ts";
import type { DpopNonces } from "./createDpopNonces.ts";
import { normalizeTargetUri } from "./normalizeTargetUri.ts";
import { readDpopProofHeader } from "./readDpopProofHeader.ts";

/** A proof is a header with one public key and a few short claims; 16 KiB is far above any real one. */
export const MAX_PROOF_CHARS = 16 * 1024;
/** A jti is a random id (RFC 9449 §4.2: 96 bits or more); longer than this is not one. */
export const MAX_JTI_CHARS = 256;

/**
 * Added to the proof window for as long as a jti is remembered: the window's last millisecond is
 * still accepted (iat + maxAge, inclusive), and replicas' clocks differ a little, so a jti
 * remembered for exactly the window could be forgotten while its proof is still good somewhere.
 */
export const REPLAY_MARGIN_MS = 1000;

/** How one provider checks proofs (from its `dpop` config). */
export interface DpopPolicy {
  /** The algorithms a proof may be signed with (a subset of DPOP_ALGORITHMS). */
  readonly algorithms: ReadonlySet<string>;
  /** How old a proof's `iat` may be. */
  readonly maxAgeSeconds: number;
  /** How far ahead of this clock a proof's `iat` may be (the client's clock skew). */
  readonly futureSkewSeconds: number;
  /** Server-provided nonces, when the provider requires them; null = none. */
  readonly nonces: DpopNonces | null;
}

/** What a request presents: the token it is bound to and the proof, with the request's method and URI. */
export interface DpopPresentation {
  /** The `DPoP` header as the request carries it (several arrive joined with ","); undefined = none. */
  readonly proof: string | undefined;
  readonly method: string;
  /** The normalised URI the request was sent to (requestTargetUri); null when none could be formed. */
  readonly targetUri: string | null;
  /** The access token the proof must be bound to (`ath`). */
  readonly accessToken: string;
  /** The token's `cnf.jkt`: the thumbprint of the key the proof must be signed with. */
  readonly jkt: string;
}

export type DpopProofCheck =
  | {
      readonly ok: true;
      /** The replay store's key: a digest of the proof key's thumbprint and the proof's jti. */
      readonly replayKey: string;
      /** How long the proof could still be accepted: its jti is remembered that long. */
      readonly ttlMs: number;
    }
  | { readonly ok: false; readonly error: "invalid_dpop_proof" | "use_dpop_nonce"; readonly detail: string };

const invalid = (detail: string): DpopProofCheck => ({ ok: false, error: "invalid_dpop_proof", detail });

/** `now`: epoch milliseconds. `detail` names the failed check and never quotes the proof or the token. */
export function checkDpopProof(presentation: DpopPresentation, policy: DpopPolicy, now: number): DpopProofCheck {
  const { proof } = presentation;
  if (proof === undefined || proof.length === 0) return invalid("no DPoP proof");
  if (proof.length > MAX_PROOF_CHARS) return invalid(`DPoP proof longer than ${MAX_PROOF_CHARS} characters`);
  // A compact JWS has no ",": one means the request carried several DPoP headers (RFC 9449 §4.3 step 1).
  if (proof.includes(",")) return invalid("more than one DPoP header");
  const first = proof.indexOf(".");
  const last = proof.lastIndexOf(".");
  if (first <= 0 || first === last || proof.indexOf(".", first + 1) !== last || last === proof.length - 1)
    return invalid("DPoP proof is not a compact JWS");
  const header = readDpopProofHeader(proof.slice(0, first), policy.algorithms);
  if (typeof header === "string") return invalid(header);
  const payloadPart = proof.slice(first + 1, last);
  const signature = decodeBase64url(proof.slice(last + 1));
  if (signature === undefined || !isBase64url(payloadPart)) return invalid("DPoP proof parts are not base64url");
  let signed = false;
  try {
    signed = verify(header.algorithm.hash, Buffer.from(proof.slice(0, last), "latin1"), header.keyInput, signature);
  } catch {
    signed = false; // a signature the primitive cannot even read does not verify
  }
  if (!signed) return invalid("DPoP proof signature does not verify with its jwk");
  if (!sameText(header.thumbprint, presentation.jkt)) return invalid("DPoP proof key is not the token's cnf.jkt");
  const claims = parseJsonObject(decodeBase64url(payloadPart) ?? Buffer.alloc(0));
  if (claims === undefined) return invalid("DPoP proof payload is not a JSON object");
  return checkClaims(claims, presentation, policy, now, header.thumbprint);
}

function checkClaims(
  claims: Readonly<Record<string, unknown>>,
  presentation: DpopPresentation,
  policy: DpopPolicy,
  now: number,
  thumbprint: string,
): DpopProofCheck {
  if (claims["htm"] !== presentation.method) return invalid("DPoP proof htm is not the request's method");
  const htu = typeof claims["htu"] === "string" ? normalizeTargetUri(claims["htu"]) : null;
  if (htu === null || presentation.targetUri === null || htu !== presentation.targetUri)
    return invalid("DPoP proof htu is not the request's URI");
  if (policy.nonces !== null && !policy.nonces.accepts(claims["nonce"]))
    return {
      ok: false,
      error: "use_dpop_nonce",
      detail: claims["nonce"] === undefined ? "DPoP proof without a nonce" : "DPoP proof nonce is not current",
    };
  const iat = claims["iat"];
  if (typeof iat !== "number" || !Number.isFinite(iat)) return invalid("DPoP proof iat is not a number");
  if (iat * 1000 < now - policy.maxAgeSeconds * 1000) return invalid("DPoP proof iat is too old");
  if (iat * 1000 > now + policy.futureSkewSeconds * 1000) return invalid("DPoP proof iat is in the future");
  const ath = claims["ath"];
  if (typeof ath !== "string" || !sameText(ath, tokenHash(presentation.accessToken)))
    return invalid("DPoP proof ath is not the access token's hash");
  const jti = claims["jti"];
  if (typeof jti !== "string" || jti.length === 0 || jti.length > MAX_JTI_CHARS)
    return invalid(`DPoP proof jti is missing or longer than ${MAX_JTI_CHARS} characters`);
  return {
    ok: true,
    replayKey: createHash("sha256").update(thumbprint).update("\u0000").update(jti).digest("base64url"),
    ttlMs: (policy.maxAgeSeconds + policy.futureSkewSeconds) * 1000 + REPLAY_MARGIN_MS,
  };
}

/** RFC 9449 §4.2 `ath`: base64url of the SHA-256 of the access token's ASCII bytes. */
export function tokenHash(accessToken: string): string {
  return createHash("sha256").update(accessToken, "latin1").digest("base64url");
}

/** Constant time for equal lengths; different lengths differ (thumbprints and hashes have fixed lengths). */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}
