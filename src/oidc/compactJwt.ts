// Cheap, untrusted reading of a compact JWS before any crypto: the shape check that runs ahead of
// the cache, and the payload's claims, read once as jose reads them (strict base64url and UTF-8, a
// JSON object): their `iss` picks a provider, and once the signature over the same text is verified
// (verifyProviderJwt) they are the token's claims.

/** Envoy's default header limit is 60 KiB; nothing longer can be a real bearer token. */
export const MAX_TOKEN_LENGTH = 64 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** base64url as jose reads it (WHATWG atob): its alphabet only, and never a length of 4n+1. */
export function isBase64url(part: string): boolean {
  return part.length % 4 !== 1 && BASE64URL.test(part);
}

export function decodeBase64url(part: string): Buffer | undefined {
  return isBase64url(part) ? Buffer.from(part, "base64url") : undefined;
}

/** jose decodes JOSE JSON with a fatal UTF-8 decoder: invalid UTF-8 is refused, not replaced. */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A plain JSON object (what jose's isObject accepts after JSON.parse), else undefined. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return undefined;
  }
  return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>)
    : undefined;
}

/** The base64url alphabet and the dots between parts: with exactly two dots, three base64url parts. */
const COMPACT_JWS_CHARACTERS = /^[A-Za-z0-9_.-]*$/;

/**
 * A reason string when the token is not a compact JWS (three base64url parts), else undefined.
 * Runs for every token not in the cache: the dots are found in place and the alphabet is tested in
 * one pass over the whole token, without splitting it into parts.
 */
export function compactShapeProblem(token: string): string | undefined {
  if (token.length === 0) return "empty token";
  if (token.length > MAX_TOKEN_LENGTH) return `token longer than ${MAX_TOKEN_LENGTH} characters`;
  const first = token.indexOf(".");
  const second = first < 0 ? -1 : token.indexOf(".", first + 1);
  if (second < 0 || token.includes(".", second + 1))
    return `compact JWS must have 3 parts, got ${token.split(".").length}`;
  // An empty signature is left to jose, so `alg: none` is reported as alg_not_allowed.
  if (first === 0 || second === first + 1) return "empty JWS header or payload";
  if (!COMPACT_JWS_CHARACTERS.test(token)) return "JWS parts are not base64url";
  return undefined;
}

export type UnverifiedIssuer =
  | {
      readonly ok: true;
      readonly iss: string | undefined;
      /** The whole payload, parsed: the token's claims once its signature is verified. */
      readonly claims: Record<string, unknown>;
    }
  | { readonly ok: false; readonly detail: string };

/** Reads `iss` from a shape-checked token's payload WITHOUT verifying anything. */
export function readUnverifiedIssuer(token: string): UnverifiedIssuer {
  const bytes = decodeBase64url(token.slice(token.indexOf(".") + 1, token.lastIndexOf(".")));
  if (bytes === undefined) return { ok: false, detail: "JWT payload is not base64url" };
  const claims = parseJsonObject(bytes);
  if (claims === undefined) return { ok: false, detail: "JWT payload is not a JSON object" };
  const iss = claims["iss"];
  return { ok: true, iss: typeof iss === "string" ? iss : undefined, claims };
}
