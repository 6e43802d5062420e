// The `routes[].forwardToken` part of the config schema: the upstream of a route that asks for it
// gets the browser session's access token (or ID token), as oauth2-proxy's --pass-access-token does,
// the current one after each refresh. Off by default; checkForwardTokenRules.ts holds its rules.
import type { ObjectNode } from "./configSchema.ts";
import { exchangeHeaderName } from "./exchangeSchema.ts";

export const forwardTokenNode = {
  kind: "object",
  typeOptional: true,
  description:
    "Pass the caller's token to this route's upstream, for an upstream that calls APIs as the user: a browser session's access token (or ID token), the refreshed one once the session is refreshed, or a bearer caller's own access token. The client's `Authorization` header is never passed on in its place: it is replaced (or removed when `header` is another). Off by default: a token the upstream holds can be leaked or replayed; prefer the signed assertion or token exchange. Example: `{ enabled: true, token: access, header: authorization }`.",
  fields: {
    enabled: { kind: "boolean", default: false, description: "Forward the token on this route." },
    token: {
      kind: "string",
      enum: ["access", "id"],
      default: "access",
      description:
        "`access`: the session's access token, or a bearer caller's own (not a DPoP-bound one, useless without its proof). `id`: the session's ID token (a bearer caller has none: nothing is sent).",
    },
    header: {
      kind: "string",
      format: exchangeHeaderName,
      default: "authorization",
      description:
        "Upstream header: `authorization` carries `Bearer <token>`; any other (e.g. `x-forwarded-access-token`) carries the token alone.",
    },
  },
} as const satisfies ObjectNode;
