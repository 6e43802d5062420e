// A forward-auth request → AccessRequest, built by the same assembleAccessRequest as the ext_authz
// Check. nginx, Traefik and Caddy send the original method, URI, host and scheme in headers they
// set; Envoy's ext_authz http_service sends the original method and host as the request's own and
// the original path after its path_prefix, the scheme in a header (readEnvoyAuthRequest). Either
// way they are trusted because the peer is a configured proxy, every other header is the client's,
// and each must be there exactly once and well formed, or the request is refused (and denied).
import type { AccessRequest } from "../core/AccessRequest.ts";
import { assembleAccessRequest } from "./assembleAccessRequest.ts";
import { rawTargetAmbiguity } from "./rawTargetAmbiguity.ts";

/** Names (lower-case) of the headers carrying the original request's method, URI, host and scheme. */
export interface ForwardedHeaderNames {
  readonly method: string;
  readonly uri: string;
  readonly host: string;
  readonly proto: string;
}

/** Envoy's http_service: the endpoint's path (Envoy's `path_prefix`) and the scheme's header. */
export interface EnvoyAuthRequestShape {
  readonly pathPrefix: string;
  readonly proto: string;
}

/**
 * Why a forward-auth request was not read; answered with a denial: what the proxy should have sent
 * is `forward_auth_peer_untrusted`, a client's target the upstream would read otherwise `path_invalid`.
 */
export class ForwardAuthRefused {
  readonly reason: string;
  readonly code: "forward_auth_peer_untrusted" | "path_invalid";
  constructor(reason: string, code: ForwardAuthRefused["code"] = "forward_auth_peer_untrusted") {
    this.reason = reason;
    this.code = code;
  }
}

const WEBSOCKET_SCHEMES: ReadonlyMap<string, string> = new Map([
  ["ws", "http"],
  ["wss", "https"],
]);
const METHOD = /^[A-Z][A-Z0-9_-]{0,31}$/;
/** What the subrequest's own connection adds: never the client's, and never in Envoy's header map. */
const CONNECTION_HEADERS: ReadonlySet<string> = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
]);

/** `rawHeaders`: node:http's IncomingMessage.rawHeaders (name, value, name, value...). */
export function readForwardAuthRequest(
  rawHeaders: readonly string[],
  names: ForwardedHeaderNames,
): AccessRequest | ForwardAuthRefused {
  const { forwarded, headers } = collectHeaders(rawHeaders, [names.method, names.uri, names.host, names.proto]);
  const method = exactlyOnce(forwarded, names.method);
  const uri = exactlyOnce(forwarded, names.uri);
  if (method instanceof ForwardAuthRefused) return method;
  if (uri instanceof ForwardAuthRefused) return uri;
  return assemble(method, uri, forwarded, headers, names);
}

/**
 * Envoy's http_service: `method` and `url` are the request line's, `url` the original path and
 * query after `pathPrefix`; the host is the request's own `Host`.
 */
export function readEnvoyAuthRequest(
  method: string,
  url: string,
  rawHeaders: readonly string[],
  shape: EnvoyAuthRequestShape,
): AccessRequest | ForwardAuthRefused {
  const { forwarded, headers } = collectHeaders(rawHeaders, ["host", shape.proto]);
  // Envoy appends the original :path, which starts with "/", to the prefix.
  if (!url.startsWith(`${shape.pathPrefix}/`)) {
    return new ForwardAuthRefused(`the path does not continue ${shape.pathPrefix} with the original path`);
  }
  const names = { method: "the method", uri: "the path", host: "host", proto: shape.proto };
  return assemble(method, url.slice(shape.pathPrefix.length), forwarded, headers, names);
}

interface CollectedHeaders {
  /** The headers named as forwarded, every value kept (a repeat is refused). */
  readonly forwarded: ReadonlyMap<string, readonly string[]>;
  /** The client's headers as Envoy's ext_authz map carries them. */
  readonly headers: Map<string, string>;
}

function collectHeaders(rawHeaders: readonly string[], forwardedNames: readonly string[]): CollectedHeaders {
  const named = new Set(forwardedNames);
  const forwarded = new Map<string, string[]>();
  const headers = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    if (named.has(name)) {
      const seen = forwarded.get(name);
      if (seen === undefined) forwarded.set(name, [value]);
      else seen.push(value);
      continue;
    }
    if (CONNECTION_HEADERS.has(name)) continue;
    // A repeated header is joined with "," as Envoy's ext_authz header map joins it.
    const prior = headers.get(name);
    headers.set(name, prior === undefined ? value : `${prior},${value}`);
  }
  return { forwarded, headers };
}

function exactlyOnce(forwarded: CollectedHeaders["forwarded"], name: string): string | ForwardAuthRefused {
  const values = forwarded.get(name);
  if (values === undefined || values.length !== 1 || values[0] === "") {
    return new ForwardAuthRefused(`${name} must be set exactly once by the proxy`);
  }
  return values[0] as string;
}

/** `names`: what to call each part in a refusal (the header names, or the request's own parts). */
function assemble(
  method: string,
  uri: string,
  forwarded: CollectedHeaders["forwarded"],
  headers: Map<string, string>,
  names: ForwardedHeaderNames,
): AccessRequest | ForwardAuthRefused {
  const host = exactlyOnce(forwarded, names.host);
  const forwardedProto = exactlyOnce(forwarded, names.proto);
  if (host instanceof ForwardAuthRefused) return host;
  if (forwardedProto instanceof ForwardAuthRefused) return forwardedProto;
  // Traefik says ws/wss for a WebSocket upgrade: the same request over http/https.
  const proto = WEBSOCKET_SCHEMES.get(forwardedProto) ?? forwardedProto;
  if (!METHOD.test(method)) return new ForwardAuthRefused(`${names.method} is not a method`);
  if (proto !== "http" && proto !== "https") return new ForwardAuthRefused(`${names.proto} is not http or https`);
  // An absolute-form or asterisk-form target is not what the upstream routes on; the gate
  // normalises and judges everything else about the path, as it does Envoy's :path.
  if (!uri.startsWith("/")) return new ForwardAuthRefused(`${names.uri} does not start with "/"`);
  // The proxy passes the target on as it is, not as the gate normalises it.
  const ambiguity = rawTargetAmbiguity(uri);
  if (ambiguity !== null) return new ForwardAuthRefused(`${names.uri} ${ambiguity}`, "path_invalid");
  // The pseudo-headers as Envoy's map carries them, so nothing reads this request differently.
  headers.set(":authority", host);
  headers.set(":method", method);
  headers.set(":path", uri);
  headers.set(":scheme", proto);
  return assembleAccessRequest({ id: "", method, path: uri, host, scheme: proto }, headers);
}
