// The `routes[].tokenSource` part of the config schema: where a route reads the bearer token when
// not from the Authorization header (a named header, a cookie, a query parameter for WebSocket
// upgrades and legacy clients). routeSchema.ts places it; checkTokenSourceRules.ts checks it.
import { cookieName, headerName } from "./configFormats.ts";
import type { ObjectNode } from "./configSchema.ts";

/** A query parameter name as legacy clients write it: unreserved URL characters only, no encoding. */
export const QUERY_PARAMETER_NAME = /^[A-Za-z0-9._~-]{1,64}$/;

export const tokenSourceNode = {
  kind: "object",
  typeOptional: true,
  description:
    "Where this route reads the access token; at most one of `header`, `cookie`, `query`, and none = the `Authorization` header (`Bearer` or `DPoP`). The route then reads only that place; the token is a bare value there (no scheme) and is removed before the upstream: the header, the cookie from `Cookie`, or the query parameter from the path (Envoy ext_authz `query_parameters_to_remove`; the parameter is never logged). Example: `tokenSource: { query: access_token }` for a WebSocket route.",
  fields: {
    header: {
      kind: "string",
      format: headerName,
      nullable: true,
      default: null,
      description: "A request header holding the bare token, e.g. `x-api-token`.",
    },
    cookie: {
      kind: "string",
      format: cookieName,
      nullable: true,
      default: null,
      description: "A cookie holding the bare token, e.g. `api_token`; never one of Portcullis's own session cookies.",
    },
    query: {
      kind: "string",
      pattern: QUERY_PARAMETER_NAME,
      nullable: true,
      default: null,
      description:
        "A query parameter holding the token, e.g. `access_token` (browsers cannot set headers on a WebSocket upgrade). Only with the Envoy gRPC front door, which removes it before the upstream (Envoy then rebuilds the query string, its parameters in sorted order); a request naming it twice is refused. Keep it out of Envoy's own access log format too.",
    },
  },
} as const satisfies ObjectNode;
