// The one place that decides what to do with a sender-constrained token (RFC 9449 DPoP `cnf.jkt`,
// RFC 8705 mTLS `cnf.x5t#S256`, or any other `cnf`) presented as a plain bearer token. Portcullis
// cannot check the holder's proof yet, and accepting the token without it is exactly what the
// binding exists to stop, so it is refused on the JWT and the introspection paths alike. A future
// proof check replaces this refusal here and nowhere else.
import type { ClaimsProblem } from "./checkProviderClaims.ts";

export const SENDER_CONSTRAINED_DETAIL = "sender-constrained token presented as a bearer token";

/** null when the claims carry no confirmation (`cnf`) of a key the presenter must prove. */
export function refuseSenderConstrainedTokens(claims: Readonly<Record<string, unknown>>): ClaimsProblem | null {
  // Any `cnf`, even one we cannot read (null, a string): fail closed rather than guess it is harmless.
  if (!Object.hasOwn(claims, "cnf") || claims["cnf"] === undefined) return null;
  const cnf = claims["cnf"];
  const kinds =
    typeof cnf === "object" && cnf !== null && !Array.isArray(cnf)
      ? Object.keys(cnf as object)
          .filter((kind) => /^[A-Za-z0-9#_-]{1,16}$/.test(kind))
          .slice(0, 4)
      : [];
  const binding = kinds.length > 0 ? ` (cnf ${kinds.join(", ")})` : " (cnf)";
  return { code: "type_not_allowed", detail: `${SENDER_CONSTRAINED_DETAIL}${binding}` };
}
