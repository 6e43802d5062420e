// The request headers Envoy's ext_authz filter must send Portcullis for a given config (its
// `allowed_headers`), each with the reason it is read. Everything else Envoy would send (user-agent,
// accept-language, other cookies' neighbours, x-forwarded-*, pseudo-headers already carried as the
// request's host, path, method and scheme) is decoded and dropped unread, at Envoy's cost and ours.

import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { DEFAULT_REMOVED_REQUEST_HEADERS } from "../config/removedRequestHeaders.ts";
import { FORWARDED_CLIENT_CERT_HEADER } from "../core/parseForwardedClientCert.ts";
import { browserLoginEnabled } from "./buildCheckPipeline.ts";
import { clientCertificateUse } from "./clientCertificateUse.ts";
import type { RequestConditionConfig } from "../core/compileRequestConditions.ts";

/** One header Portcullis reads from a Check, and why (printed beside it by `check-config --envoy`). */
export interface AllowedHeader {
  readonly name: string;
  readonly why: string;
}

/**
 * What src/core/isBrowserNavigation.ts reads to tell a page navigation (sent to log in, shown error
 * pages) from fetch/XHR and gRPC; it decides something only where browser login is on.
 */
export const BROWSER_NAVIGATION_HEADERS: readonly string[] = Object.freeze([
  "accept",
  "content-type",
  "sec-fetch-mode",
  "x-requested-with",
]);

/** What the tracing propagators (src/observability/startTracing.ts: W3C trace context, then B3) extract. */
export const TRACE_CONTEXT_HEADERS: readonly string[] = Object.freeze([
  "traceparent",
  "tracestate",
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-sampled",
  "x-b3-flags",
]);

/**
 * The headers, in a stable order. Not listed, on purpose: the identity headers Portcullis owns
 * (every allow answer removes or overwrites each of them whether or not the request carries it, so
 * it need not see them); pseudo-headers (Envoy sends them as attributes.request.http's host, path,
 * method and scheme); forwarding headers (x-forwarded-proto never, x-forwarded-for only where
 * policy.trustedForwardedHops says which of its entries proxies you run wrote).
 */
export function envoyAllowedHeaders(config: PortcullisConfig): readonly AllowedHeader[] {
  const headers: AllowedHeader[] = [
    { name: "authorization", why: "the bearer token; removed before the upstream on authenticated requests" },
    { name: "x-request-id", why: "Envoy's request id, joined with Portcullis's log lines" },
  ];
  if (browserLoginEnabled(config)) {
    headers.push({
      name: "cookie",
      why: "browser login: the session cookie (Portcullis's own cookies are stripped before the upstream)",
    });
    for (const name of BROWSER_NAVIGATION_HEADERS)
      headers.push({ name, why: "browser login: tell a page navigation (sent to log in) from API calls" });
  } else if (config.routes.some(({ denial }) => (denial?.html ?? denial?.htmlFile ?? null) !== null))
    for (const name of BROWSER_NAVIGATION_HEADERS)
      headers.push({ name, why: "routes[].denial.html: tell a page navigation (shown the page) from API calls" });
  // Portcullis names in its answer only those of these removals the request carries: it must see them.
  // As compileRoutes reads it: a config built in code may leave the list out.
  for (const name of config.policy.removeRequestHeaders ?? DEFAULT_REMOVED_REQUEST_HEADERS)
    headers.push({
      name,
      why: "policy.removeRequestHeaders: removed before the upstream when the request carries them",
    });
  // Only with mTLS configured: elsewhere Envoy's default (forward_client_cert_details SANITIZE) drops a
  // client's own header before any filter sees it.
  const certificates = clientCertificateUse(config);
  if (certificates.forwarded || certificates.peer)
    headers.push({
      name: FORWARDED_CLIENT_CERT_HEADER,
      why: certificates.forwarded
        ? "mTLS: the client certificate a trusted proxy forwards; removed before the upstream on routes that do not trust it"
        : "mTLS: removed before the upstream (only a trusted proxy's is read)",
    });
  if (Object.values(config.providers).some((provider) => provider.dpop?.enabled === true))
    headers.push({
      name: "dpop",
      why: "DPoP: the proof of possession of a DPoP-bound token; removed before the upstream with the Authorization header",
    });
  if (config.tracing.enabled)
    for (const name of TRACE_CONTEXT_HEADERS)
      headers.push({ name, why: "tracing: the trace context the Check's span continues (W3C, B3)" });
  const traceRequests = config.log.traceRequests;
  if (traceRequests?.enabled === true)
    headers.push({
      name: traceRequests.header,
      why: "log.traceRequests: asks for the request's decision trace in the log; removed before the upstream",
    });
  for (const route of config.routes) {
    const source = route.tokenSource;
    if (typeof source?.header === "string")
      headers.push({
        name: source.header,
        why: `routes.${route.name}.tokenSource.header: the route's token; removed before the upstream`,
      });
    if (typeof source?.cookie === "string")
      headers.push({
        name: "cookie",
        why: `routes.${route.name}.tokenSource.cookie: the route's token cookie; removed before the upstream`,
      });
  }
  // A header Envoy does not send reads as absent: `present: false` would hold for every request.
  for (const { where, conditions } of requestConditionSets(config))
    for (const condition of conditions.headers ?? [])
      headers.push({ name: condition.name, why: `${where}.headers: a request condition` });
  const hops = config.policy.trustedForwardedHops ?? 0;
  if (hops > 0 && requestConditionSets(config).some(({ conditions }) => (conditions.sourceAddresses ?? []).length > 0))
    headers.push({
      name: "x-forwarded-for",
      why: `policy.trustedForwardedHops (${hops}): sourceAddresses conditions read the client address the trusted proxies appended`,
    });
  const apiKeyHeader = config.apiKeys?.enabled === true ? config.apiKeys.header : null;
  if (apiKeyHeader !== null && config.routes.some((route) => route.apiKeys === true))
    headers.push({
      name: apiKeyHeader,
      why: "apiKeys.header: the API key of routes with apiKeys; removed before the upstream",
    });
  // A name twice (a removal that is also a trace header) is sent once, for its first reason.
  return headers.filter((h, i) => headers.findIndex((other) => other.name === h.name) === i);
}

/** Every place request conditions are written (a rule's match, require.request and deny rules' when.request, the defaults'), with its key path. */
export function requestConditionSets(
  config: PortcullisConfig,
): { readonly where: string; readonly conditions: RequestConditionConfig }[] {
  const sets: { where: string; conditions: RequestConditionConfig }[] = [];
  const defaults = config.policy.defaults?.require?.request;
  if (defaults !== undefined) sets.push({ where: "policy.defaults.require.request", conditions: defaults });
  for (const route of config.routes) {
    sets.push({ where: `routes.${route.name}.match`, conditions: route.match });
    const own = route.require?.request;
    if (own !== undefined) sets.push({ where: `routes.${route.name}.require.request`, conditions: own });
    (route.deny ?? []).forEach(({ when }, i) => {
      if (when?.request !== undefined)
        sets.push({ where: `routes.${route.name}.deny[${i}].when.request`, conditions: when.request });
    });
  }
  return sets;
}

/** The list as Envoy's ListStringMatcher patterns (exact names; Envoy's header names are lower-case). */
export function allowedHeaderPatterns(config: PortcullisConfig): { exact: string }[] {
  return envoyAllowedHeaders(config).map(({ name }) => ({ exact: name }));
}
