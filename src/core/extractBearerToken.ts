// Reads an RFC 6750 bearer token from the Authorization header. Only the header form is accepted:
// tokens in query strings or bodies leak into logs and caches.
export type BearerExtraction =
  | { readonly kind: "none" }
  | { readonly kind: "token"; readonly token: string }
  | { readonly kind: "malformed"; readonly detail: string };

// b64token from RFC 6750 §2.1, bounded so that a huge header cannot reach the verifier.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const BEARER = "bearer";
const BEARER_SCHEME = /^bearer/i;

export function extractBearerToken(authorization: string | undefined): BearerExtraction {
  if (authorization === undefined || authorization === "") return { kind: "none" };
  // Another scheme (Basic, Digest, a bare value) carries no bearer credential: RFC 6750 §3.1 answers
  // that with the plain challenge, not invalid_token.
  const space = authorization.indexOf(" ");
  if (space === -1)
    return authorization.toLowerCase() === "bearer"
      ? { kind: "malformed", detail: "empty bearer token" }
      : { kind: "none" };
  // The scheme compared in place (any case), without cutting it out of the header on every check.
  if (space !== BEARER.length || !BEARER_SCHEME.test(authorization)) return { kind: "none" };
  const token = authorization.slice(space + 1).trim();
  if (token.length === 0) return { kind: "malformed", detail: "empty bearer token" };
  if (token.length > MAX_TOKEN_LENGTH) return { kind: "malformed", detail: "bearer token too long" };
  if (!B64TOKEN.test(token)) return { kind: "malformed", detail: "bearer token has characters outside b64token" };
  return { kind: "token", token };
}
