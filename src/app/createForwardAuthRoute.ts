// The forward-auth endpoint as the auth listener serves it: the transport's handler over the live
// gate and the check observer, with the proxy's conventions (where the original request is read
// from, how the answer is shaped) resolved, its settings read from the current config generation
// (a reload can turn it on or off, move it, or change the trusted proxies; the address blocks and
// conventions are built once per generation).
import type { IncomingMessage } from "node:http";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { ForwardAuthRoute } from "../http/startAuthServer.ts";
import type { CheckObserver, DecisionGate } from "../transport/createExtAuthzHandlers.ts";
import { blockListOf } from "./blockListOf.ts";
import { createForwardAuthHandler, type ForwardAuthSettings } from "../transport/createForwardAuthHandler.ts";
import {
  readEnvoyAuthRequest,
  readForwardAuthRequest,
  type ForwardedHeaderNames,
} from "../transport/readForwardAuthRequest.ts";
import { toEnvoyAuthResponse, toForwardAuthResponse } from "../transport/toForwardAuthResponse.ts";

type ForwardAuthConfig = NonNullable<PortcullisConfig["forwardAuth"]>;

/** The headers each proxy sets about the original request, by its own documentation. */
const TRAEFIK_HEADERS: ForwardedHeaderNames = {
  method: "x-forwarded-method",
  uri: "x-forwarded-uri",
  host: "x-forwarded-host",
  proto: "x-forwarded-proto",
};
const FORWARDED_HEADERS: Readonly<Record<Exclude<ForwardAuthConfig["proxy"], "envoy">, ForwardedHeaderNames>> = {
  nginx: { method: "x-original-method", uri: "x-original-uri", host: "x-forwarded-host", proto: "x-forwarded-proto" },
  traefik: TRAEFIK_HEADERS,
  caddy: TRAEFIK_HEADERS,
};
/** Envoy's http_service carries no scheme of its own: the example sets this header (headers_to_add). */
const ENVOY_PROTO_HEADER = "x-forwarded-proto";

/** How the endpoint reads and answers for the section's proxy. */
function conventionOf(section: ForwardAuthConfig): Pick<ForwardAuthSettings, "read" | "answer"> {
  if (section.proxy === "envoy") {
    // The config refuses headers.method/uri/host with envoy: its request line and Host carry them.
    const shape = { pathPrefix: section.path, proto: section.headers.proto ?? ENVOY_PROTO_HEADER };
    return {
      read: (req: IncomingMessage) => readEnvoyAuthRequest(req.method ?? "", req.url ?? "", req.rawHeaders, shape),
      answer: (decision) => toEnvoyAuthResponse(decision),
    };
  }
  const convention = FORWARDED_HEADERS[section.proxy];
  const names = {
    method: section.headers.method ?? convention.method,
    uri: section.headers.uri ?? convention.uri,
    host: section.headers.host ?? convention.host,
    proto: section.headers.proto ?? convention.proto,
  };
  // nginx's auth_request passes no redirect on; Traefik and Caddy hand the client the answer itself.
  const loginUrlHeader = section.proxy === "nginx" ? section.loginUrlHeader : null;
  return {
    read: (req: IncomingMessage) => readForwardAuthRequest(req.rawHeaders, names),
    answer: (decision, clientHeaders) => toForwardAuthResponse(decision, loginUrlHeader, clientHeaders),
  };
}

/**
 * The endpoint for one listener: `own` for the endpoint's own listener (forwardAuth.listen), else
 * the auth listener's path, which is served only while no own listener is configured.
 */
export function createForwardAuthRoute(
  gate: DecisionGate,
  observer: CheckObserver,
  config: () => PortcullisConfig,
): { readonly onAuthListener: () => ForwardAuthRoute | null; readonly own: () => ForwardAuthRoute | null } {
  let built: { readonly from: ForwardAuthConfig; readonly settings: ForwardAuthSettings } | null = null;
  const settingsOf = (section: ForwardAuthConfig): ForwardAuthSettings => {
    if (built?.from === section) return built.settings;
    const trustedProxies = blockListOf(section.trustedProxies);
    const settings = { trustedProxies, ...conventionOf(section) };
    built = { from: section, settings };
    return settings;
  };
  const handle = createForwardAuthHandler(gate, observer, () => settingsOf(config().forwardAuth as ForwardAuthConfig));
  const route = (own: boolean) => () => {
    const section = config().forwardAuth;
    if (section?.enabled !== true || (section.listen !== null) !== own) return null;
    // Envoy's http_service appends the original path to the endpoint's (its path_prefix).
    return { path: section.path, below: section.proxy === "envoy", handle };
  };
  return { onAuthListener: route(false), own: route(true) };
}
