// Reads the access token from the Authorization header: `Bearer` (RFC 6750) or `DPoP` (RFC 9449
// §7.1, the same b64token syntax), with the scheme it came in, since a DPoP-bound token is accepted
// only under DPoP. Only the header form is read here: a route that takes its token from another
// header, a cookie or a query parameter says so in its tokenSource (readRouteToken.ts).
export type BearerExtraction =
  | { readonly kind: "none" }
  | { readonly kind: "token"; readonly token: string; readonly scheme: "bearer" | "dpop" }
  | { readonly kind: "malformed"; readonly detail: string; readonly scheme: "bearer" | "dpop" };

// b64token from RFC 6750 §2.1, bounded so that a huge header cannot reach the verifier.
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const BEARER = "bearer";
const BEARER_SCHEME = /^bearer/i;
const DPOP = "dpop";
const DPOP_SCHEME = /^dpop/i;

export function extractBearerToken(authorization: string | undefined): BearerExtraction {
  if (authorization === undefined || authorization === "") return { kind: "none" };
  // Another scheme (Basic, Digest, a bare value) carries no bearer credential: RFC 6750 §3.1 answers
  // that with the plain challenge, not invalid_token.
  const space = authorization.indexOf(" ");
  if (space === -1) {
    const scheme = authorization.toLowerCase();
    return scheme === BEARER || scheme === DPOP
      ? { kind: "malformed", detail: `empty ${scheme} token`, scheme }
      : { kind: "none" };
  }
  // The scheme compared in place (any case), without cutting it out of the header on every check.
  const scheme =
    space === BEARER.length && BEARER_SCHEME.test(authorization)
      ? "bearer"
      : space === DPOP.length && DPOP_SCHEME.test(authorization)
        ? "dpop"
        : null;
  if (scheme === null) return { kind: "none" };
  const token = authorization.slice(space + 1).trim();
  if (token.length === 0) return { kind: "malformed", detail: `empty ${scheme} token`, scheme };
  if (token.length > MAX_TOKEN_LENGTH) return { kind: "malformed", detail: `${scheme} token too long`, scheme };
  if (!B64TOKEN.test(token))
    return { kind: "malformed", detail: `${scheme} token has characters outside b64token`, scheme };
  return { kind: "token", token, scheme };
}
