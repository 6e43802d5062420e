// Reads the access token from a route's own token source (routes[].tokenSource): a named header, a
// cookie, or a query parameter, each holding the bare token (no scheme), checked like a Bearer
// token (b64token, bounded). A query parameter named twice, or a cookie sent twice, is refused as
// malformed rather than read one way here and another upstream. Details never carry the token.
import { DUPLICATE_COOKIE, parseCookieHeader } from "../session/parseCookieHeader.ts";
import type { AccessRequest } from "./AccessRequest.ts";
import { extractBearerToken, type BearerExtraction } from "./extractBearerToken.ts";
import type { RouteTokenSource } from "./RouteTokenSource.ts";

const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
const NONE: BearerExtraction = Object.freeze({ kind: "none" });

/** The token a request presents on `route`: from Authorization, or from the route's own source. */
export function readPresentedToken(
  request: AccessRequest,
  route: { readonly tokenSource?: RouteTokenSource | undefined },
): BearerExtraction {
  const source = route.tokenSource;
  return source === undefined
    ? extractBearerToken(request.headers.get("authorization"))
    : readRouteToken(request, source);
}

export function readRouteToken(request: AccessRequest, source: RouteTokenSource): BearerExtraction {
  const found = rawToken(request, source);
  if (typeof found !== "string") return found;
  const where = `${source.kind} ${source.name}`;
  if (found.length === 0) return malformed(`empty token in ${where}`);
  if (found.length > MAX_TOKEN_LENGTH) return malformed(`token in ${where} too long`);
  if (!B64TOKEN.test(found)) return malformed(`token in ${where} has characters outside b64token`);
  return { kind: "token", token: found, scheme: "bearer" };
}

function malformed(detail: string): BearerExtraction {
  return { kind: "malformed", detail, scheme: "bearer" };
}

/** The value as sent, or none / malformed when there is none or no single one. */
function rawToken(request: AccessRequest, source: RouteTokenSource): string | BearerExtraction {
  if (source.kind === "header") {
    const value = request.headers.get(source.name);
    if (value === undefined) return NONE;
    // Two headers arrive joined with ","; b64token has no ",", so that is refused below.
    return value.trim();
  }
  if (source.kind === "cookie") {
    const value = parseCookieHeader(request.headers.get("cookie")).get(source.name);
    if (value === undefined) return NONE;
    return value === DUPLICATE_COOKIE ? malformed(`cookie ${source.name} sent more than once`) : value;
  }
  return queryToken(request.path, source.name);
}

function queryToken(path: string, name: string): string | BearerExtraction {
  const start = path.indexOf("?");
  if (start < 0) return NONE;
  const end = path.indexOf("#", start);
  const query = path.slice(start + 1, end < 0 ? undefined : end);
  let value: string | undefined;
  for (const pair of query.split("&")) {
    const eq = pair.indexOf("=");
    // Keys compared decoded, as Envoy removes them: `access%5Ftoken` is the same parameter.
    if (decodedOrNull(eq < 0 ? pair : pair.slice(0, eq)) !== name) continue;
    if (value !== undefined) return malformed(`query parameter ${name} sent more than once`);
    value = eq < 0 ? "" : pair.slice(eq + 1);
  }
  if (value === undefined) return NONE;
  // A token's characters need no encoding except `+`, `/` and `=`, which clients may percent-encode.
  try {
    return decodeURIComponent(value);
  } catch {
    return malformed(`query parameter ${name} is not valid percent-encoding`);
  }
}

function decodedOrNull(text: string): string | null {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}
