// The forward-auth endpoint as the auth listener serves it: the transport's handler over the live
// gate and the check observer, with the proxy's conventions (header names, login answer) resolved, its settings read from the current config generation (a reload can
// turn it on or off, move it, or change the trusted proxies; the address blocks are built once per
// generation).
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { ForwardAuthRoute } from "../http/startAuthServer.ts";
import type { CheckObserver, DecisionGate } from "../transport/createExtAuthzHandlers.ts";
import { blockListOf } from "./blockListOf.ts";
import { createForwardAuthHandler, type ForwardAuthSettings } from "../transport/createForwardAuthHandler.ts";
import type { ForwardedHeaderNames } from "../transport/readForwardAuthRequest.ts";

type ForwardAuthConfig = NonNullable<PortcullisConfig["forwardAuth"]>;

/** The headers each proxy sets about the original request, by its own documentation. */
const FORWARDED_HEADERS: Readonly<Record<ForwardAuthConfig["proxy"], ForwardedHeaderNames>> = {
  nginx: { method: "x-original-method", uri: "x-original-uri", host: "x-forwarded-host", proto: "x-forwarded-proto" },
  traefik: {
    method: "x-forwarded-method",
    uri: "x-forwarded-uri",
    host: "x-forwarded-host",
    proto: "x-forwarded-proto",
  },
  caddy: { method: "x-forwarded-method", uri: "x-forwarded-uri", host: "x-forwarded-host", proto: "x-forwarded-proto" },
};

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
    const convention = FORWARDED_HEADERS[section.proxy];
    const headers = {
      method: section.headers.method ?? convention.method,
      uri: section.headers.uri ?? convention.uri,
      host: section.headers.host ?? convention.host,
      proto: section.headers.proto ?? convention.proto,
    };
    // nginx's auth_request passes no redirect on; Traefik and Caddy hand the client the answer itself.
    const loginUrlHeader = section.proxy === "nginx" ? section.loginUrlHeader : null;
    const settings = { trustedProxies, headers, loginUrlHeader };
    built = { from: section, settings };
    return settings;
  };
  const handle = createForwardAuthHandler(gate, observer, () => settingsOf(config().forwardAuth as ForwardAuthConfig));
  const route = (own: boolean) => () => {
    const section = config().forwardAuth;
    if (section?.enabled !== true || (section.listen !== null) !== own) return null;
    return { path: section.path, handle };
  };
  return { onAuthListener: route(false), own: route(true) };
}
