// The last step of an allowed request on a route with `forwardToken`: the upstream gets the caller's
// token (a session's access or ID token, as refreshed; a bearer caller's own access token) in the
// route's header. The client's Authorization header never goes through in its place: it is
// overwritten, or removed when the token goes in another header. Never kept with a reused answer.
import type { Session } from "../session/Session.ts";
import type { Allow, Decision } from "./Decision.ts";
import { internalErrorDecision } from "./deny.ts";

export interface TokenForwarding {
  readonly token: "access" | "id";
  readonly header: string;
}

/** Route name → its forwarding, for the routes that ask for one. */
export type TokenForwardings = ReadonlyMap<string, TokenForwarding>;

/** A token as a header value: visible ASCII only (JWTs and opaque tokens are), so it cannot split headers. */
const HEADER_SAFE_TOKEN = /^[\x21-\x7e]{1,16384}$/;

/** Which of the caller's tokens goes upstream; null: the caller has none of that kind. */
export function forwardedTokenOf(
  forwarding: TokenForwarding,
  session: Session | undefined,
  bearer: { readonly token: string; readonly scheme: string } | null,
): string | null {
  if (session !== undefined) return forwarding.token === "id" ? session.idToken : session.accessToken;
  // A DPoP-bound token is no use to the upstream without a proof it cannot make.
  if (bearer !== null && bearer.scheme === "bearer" && forwarding.token === "access") return bearer.token;
  return null;
}

export function withForwardedToken(allow: Allow, forwarding: TokenForwarding, token: string | null): Decision {
  const { header } = forwarding;
  const others = allow.removeHeaders.filter((name) => name !== header);
  // Whatever else happens, the client's own Authorization header is not what reaches the upstream.
  const remove = header === "authorization" || others.includes("authorization") ? others : [...others, "authorization"];
  // No token of that kind: the route's header is removed, so a client's own copy never passes for one.
  if (token === null) return { ...allow, removeHeaders: [...remove, header] };
  if (!HEADER_SAFE_TOKEN.test(token))
    return internalErrorDecision(allow.route, "forwardToken: the token is not a header-safe string");
  const value = header === "authorization" ? `Bearer ${token}` : token;
  return {
    ...allow,
    setHeaders: [...allow.setHeaders.filter(([name]) => name !== header), [header, value]],
    removeHeaders: remove,
  };
}
