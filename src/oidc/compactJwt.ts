// Cheap, untrusted reading of a compact JWS before any crypto: the shape check that runs ahead of
// the cache, and the payload's `iss` used only to pick a provider (jose re-reads everything after
// the signature is verified).

/** Envoy's default header limit is 60 KiB; nothing longer can be a real bearer token. */
export const MAX_TOKEN_LENGTH = 64 * 1024;

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** A reason string when the token is not a compact JWS (three base64url parts), else undefined. */
export function compactShapeProblem(token: string): string | undefined {
  if (token.length === 0) return "empty token";
  if (token.length > MAX_TOKEN_LENGTH) return `token longer than ${MAX_TOKEN_LENGTH} characters`;
  const parts = token.split(".");
  if (parts.length !== 3) return `compact JWS must have 3 parts, got ${parts.length}`;
  const [header, payload, signature] = parts as [string, string, string];
  // An empty signature is left to jose, so `alg: none` is reported as alg_not_allowed.
  if (header.length === 0 || payload.length === 0) return "empty JWS header or payload";
  if (!BASE64URL.test(header) || !BASE64URL.test(payload) || !BASE64URL.test(signature)) {
    return "JWS parts are not base64url";
  }
  return undefined;
}

export type UnverifiedIssuer =
  { readonly ok: true; readonly iss: string | undefined } | { readonly ok: false; readonly detail: string };

/** Reads `iss` from a shape-checked token's payload WITHOUT verifying anything. */
export function readUnverifiedIssuer(token: string): UnverifiedIssuer {
  const payload = token.slice(token.indexOf(".") + 1, token.lastIndexOf("."));
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
  } catch {
    return { ok: false, detail: "JWT payload is not JSON" };
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    return { ok: false, detail: "JWT payload is not a JSON object" };
  }
  const iss = (claims as Record<string, unknown>)["iss"];
  return { ok: true, iss: typeof iss === "string" ? iss : undefined };
}
