// The `forwardAuth` section of the config schema: the HTTP forward-auth endpoint nginx's
// `auth_request` (or Traefik's forwardAuth, Caddy's forward_auth, Envoy's ext_authz http_service)
// asks, off by default. What the proxy says about the original request is trusted only from
// `trustedProxies`; every other peer is refused.
import { isIP } from "node:net";
import { headerName, listenAddress, type FormatResult, type StringFormat } from "./configFormats.ts";
import type { ObjectNode, StringNode } from "./configSchema.ts";

const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])";
const IPV4 = `${OCTET}(?:\\.${OCTET}){3}`;

/** An address block the forward-auth endpoint trusts: `address/prefix`, IPv4 or IPv6. */
export const proxyCidr: StringFormat<string> = {
  label: "CIDR block",
  jsonSchema: {
    type: "string",
    pattern: `^(?:${IPV4}/(?:3[0-2]|[12]?[0-9])|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/(?:12[0-8]|1[01][0-9]|[1-9]?[0-9]))$`,
  },
  schemaNote: "check-config also parses the IPv6 address.",
  parse(value): FormatResult {
    const m = /^([0-9A-Fa-f:.]+)\/(0|[1-9][0-9]{0,2})$/.exec(value);
    const family = m === null ? 0 : isIP(m[1] as string);
    if (m === null || family === 0) {
      return { ok: false, message: 'must be "address/prefix", e.g. "10.0.0.0/8" or "::1/128"' };
    }
    const prefix = Number(m[2]);
    const max = family === 4 ? 32 : 128;
    if (prefix > max) return { ok: false, message: `the prefix must be 0..${max} for an IPv${family} address` };
    return { ok: true, value };
  },
};

/** `envoy`: what Envoy's http_service carries in place of a header (null: it sends one, the default's). */
const forwarded = (what: string, nginx: string, traefik: string, envoy: string | null) =>
  ({
    kind: "string",
    format: headerName,
    nullable: true,
    default: null,
    description:
      `Request header the proxy sets to the original request's ${what}; null: the \`proxy\`'s own (nginx: \`${nginx}\`, traefik and caddy: \`${traefik}\`, envoy: ` +
      (envoy === null ? `\`${traefik}\`).` : `${envoy}, so this must stay null).`),
  }) as const satisfies StringNode;

export const forwardAuthNode = {
  kind: "object",
  typeOptional: true,
  description:
    "HTTP forward-auth for nginx `auth_request`, Traefik `forwardAuth`, Caddy `forward_auth` or Envoy's ext_authz `http_service`: the same decision as the ext_authz Check, answered on a path of the auth listener or on a listener of its own (see docs/forward-auth.md).",
  fields: {
    enabled: { kind: "boolean", default: false, description: "Serve the forward-auth endpoint." },
    proxy: {
      kind: "string",
      enum: ["nginx", "traefik", "caddy", "envoy"],
      default: "nginx",
      description:
        "Whose conventions to follow: where the original request is read from, how a browser is sent to log in (nginx: 401 with the URL in `loginUrlHeader`, since `auth_request` passes on no redirect; the others: the 302 itself, which they hand to the client), and how the headers to remove are named (envoy: in `x-envoy-auth-headers-to-remove`). envoy is Envoy's ext_authz `http_service`: the original method, host and path (after `path`, its `path_prefix`) are the request's own, so `path` is matched as a prefix.",
    },
    listen: {
      kind: "string",
      format: listenAddress,
      nullable: true,
      default: null,
      description:
        "A listener of its own (`host:port`) for the endpoint, which then answers `path` there and 404 elsewhere; null: `path` on the auth listener. Fixed at start; with `serve --workers`, give a fixed port.",
    },
    path: {
      kind: "string",
      pattern: /^\/[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*$/,
      default: "/oauth2/auth",
      description:
        "Path of the endpoint (on the auth listener it takes precedence over the `/oauth2/*` endpoint of the same path); with `proxy: envoy`, Envoy's `path_prefix`: the endpoint answers every path below it.",
    },
    trustedProxies: {
      kind: "list",
      items: { kind: "string", format: proxyCidr, description: "An address block." },
      nonEmpty: true,
      unique: true,
      default: ["127.0.0.1/32", "::1/128"],
      description:
        "Peers allowed to ask: what the proxy says about the original request (its forwarded headers; Envoy's method, path and Host) is taken from these addresses only; any other peer gets 403 `forward_auth_peer_untrusted`.",
    },
    headers: {
      kind: "object",
      description:
        "Names of the headers the proxy sets; the proxy must overwrite any a client sent (nginx: `proxy_set_header`; Envoy: `authorization_request.headers_to_add`).",
      fields: {
        method: forwarded("method", "x-original-method", "x-forwarded-method", "the request's own method"),
        uri: forwarded(
          "path and query, as received",
          "x-original-uri",
          "x-forwarded-uri",
          "the request's own path after `path`",
        ),
        host: forwarded("host (`Host`, port included)", "x-forwarded-host", "x-forwarded-host", "the request's `Host`"),
        proto: forwarded("scheme (`http` or `https`)", "x-forwarded-proto", "x-forwarded-proto", null),
      },
    },
    loginUrlHeader: {
      kind: "string",
      format: headerName,
      default: "x-auth-request-redirect",
      description:
        "Response header carrying the login URL when a browser must sign in (answered 401 so nginx's `error_page 401` can redirect to it); `proxy: nginx` only.",
    },
  },
} as const satisfies ObjectNode;
