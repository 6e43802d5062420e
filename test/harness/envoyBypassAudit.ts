// What every Envoy config we ship must hold so that no request reaches an upstream without the
// decision its route requires, read statically from the parsed config. auditEnvoyConfig returns the
// problems it found (empty: none), each naming where, so one test can run it over every shipped file,
// rendered template and Helm render. The regexes are the shared strictness contract's (the same
// shapes Portcullis refuses); they are written out here once and each config must carry them verbatim.

import { DEFAULT_REMOVED_REQUEST_HEADERS } from "../../src/config/removedRequestHeaders.ts";
import { ERROR_CODES } from "../../src/errors/ErrorCode.ts";

type Json = Record<string, any>;

/** The body Portcullis answers a denial with, which Envoy's own 400s repeat word for word. */
const denialBody = (code: "path_invalid" | "host_invalid") =>
  JSON.stringify({ error: code, error_description: ERROR_CODES[code].description });

/** A path shape some upstream reads as another path: matched on the normalised path, query cut. */
export const REJECTED_PATH_REGEX = String.raw`.*(;|%3[Bb]|%25|\.(/|$)|%2[Ee](/|$)|%(20|09)(/|$)|%[Cc][01]|%[Ff][5-9A-Fa-f]).*`;

const HEX = "[0-9A-Fa-f]";
const CONT = `%[89AaBb]${HEX}`;
/**
 * A :path (query included, not looked into) whose escapes are all well-formed UTF-8 and none a
 * control character; a path that does not match is refused.
 */
export const VALID_PATH_ENCODING_REGEX =
  `([^%?]|%[2-6]${HEX}|%7[0-9A-Ea-e]|%[Cc][2-9A-Fa-f]${CONT}|%[Dd]${HEX}${CONT}|%[Ee]0%[AaBb]${HEX}${CONT}` +
  `|%[Ee][1-9A-Ca-cEeFf](${CONT}){2}|%[Ee][Dd]%[89]${HEX}${CONT}|%[Ff]0%[9AaBb]${HEX}(${CONT}){2}` +
  `|%[Ff][1-3](${CONT}){3}|%[Ff]4%8${HEX}(${CONT}){2})*([?].*)?`;

/** A valid authority: host[:port], reg-name with at most one trailing dot or a bracketed IPv6. */
export const VALID_AUTHORITY_REGEX = String.raw`^(([A-Za-z0-9_-]+)(\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(:(0{0,4}[1-9]|0{0,3}[1-9][0-9]|0{0,2}[1-9][0-9]{2}|0?[1-9][0-9]{3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$`;

/** Headers with which a client could make an upstream framework serve another host, path or method: the
 * same list Portcullis removes by default, so the Envoy layer and Portcullis's own cannot drift apart. */
export const STEERING_HEADERS = DEFAULT_REMOVED_REQUEST_HEADERS;

/** Portcullis's public documents of the signed identity assertion, routed to its auth listener by exact path. */
const PUBLISHED_PATHS: readonly unknown[] = ["/.well-known/jwks.json", "/.well-known/openid-configuration"];

const HCM = "envoy.filters.network.http_connection_manager";
const EXT_AUTHZ = "envoy.filters.http.ext_authz";

export interface AuditOptions {
  /** The cluster of Portcullis's auth listener, the only one /oauth2/ may reach unchecked. */
  readonly authCluster?: string;
  /** A cluster that reaches Envoy's own loopback admin, allowed only for an exact GET /ready. */
  readonly adminCluster?: string;
}

/** Every problem that could let a request past the check, or a shape past Envoy, in one config. */
export function auditEnvoyConfig(config: Json, options: AuditOptions = {}): string[] {
  const authCluster = options.authCluster ?? "portcullis_auth";
  const adminCluster = options.adminCluster ?? "envoy_admin";
  const problems: string[] = [];
  const fail = (where: string, what: string) => problems.push(`${where}: ${what}`);

  if (config["admin"]?.address?.socket_address?.address !== "127.0.0.1") fail("admin", "must listen on 127.0.0.1 only");
  const runtimeLimit = (config["layered_runtime"]?.layers as Json[] | undefined)
    ?.map((l) => l["static_layer"]?.["re2.max_program_size.error_level"])
    .find((v) => v !== undefined);
  if (config["dynamic_resources"] !== undefined)
    fail("dynamic_resources", "a shipped config is static: nothing may add a listener or route at run time");

  const listeners = (config["static_resources"]?.listeners ?? []) as Json[];
  if (listeners.length === 0) fail("static_resources.listeners", "none");
  for (const listener of listeners) {
    const at = `listener ${listener["name"]}`;
    if (listener["listener_filters"] !== undefined) fail(at, "listener_filters could pick another filter chain");
    if (listener["default_filter_chain"] !== undefined) fail(at, "a default_filter_chain is a second way in");
    for (const [chainIndex, chain] of ((listener["filter_chains"] ?? []) as Json[]).entries()) {
      const filters = (chain["filters"] ?? []) as Json[];
      if (filters.length !== 1 || filters[0]?.["name"] !== HCM) {
        fail(
          `${at} chain ${chainIndex}`,
          `must be one http_connection_manager, got ${filters.map((f) => f["name"]).join(", ")}`,
        );
        continue;
      }
      auditHcm(`${at} chain ${chainIndex}`, filters[0]?.["typed_config"] as Json);
    }
  }
  return problems;

  function auditHcm(at: string, hcm: Json): void {
    if (hcm["normalize_path"] !== true) fail(at, "normalize_path must be true");
    if (hcm["merge_slashes"] !== true) fail(at, "merge_slashes must be true");
    if (hcm["path_with_escaped_slashes_action"] !== "REJECT_REQUEST")
      fail(at, "path_with_escaped_slashes_action must be REJECT_REQUEST");
    if (hcm["common_http_protocol_options"]?.headers_with_underscores_action !== "REJECT_REQUEST")
      fail(at, "headers_with_underscores_action must be REJECT_REQUEST");
    if (hcm["use_remote_address"] !== true) fail(at, "use_remote_address must be true");
    if (hcm["xff_num_trusted_hops"] !== 0) fail(at, "xff_num_trusted_hops must be 0");
    if (hcm["rds"] !== undefined || hcm["scoped_routes"] !== undefined)
      fail(at, "routes must be inline (route_config), not fetched");
    const filters = (hcm["http_filters"] ?? []) as Json[];
    const extAuthz = filters[0]?.["name"] === EXT_AUTHZ ? (filters[0]?.["typed_config"] as Json) : undefined;
    if (extAuthz !== undefined) {
      if (extAuthz["failure_mode_allow"] !== false) fail(at, "ext_authz failure_mode_allow must be false");
      if (
        extAuthz["filter_enabled"] !== undefined ||
        extAuthz["filter_enabled_metadata"] !== undefined ||
        extAuthz["deny_at_disable"] !== undefined
      ) {
        fail(at, "ext_authz must not be switchable off by runtime or metadata");
      }
    }
    if (filters.slice(1).some((f) => f["name"] === EXT_AUTHZ)) fail(at, "ext_authz must be the first HTTP filter");
    if (filters.at(-1)?.["name"] !== "envoy.filters.http.router") fail(at, "the router must be the last HTTP filter");
    const names = filters.map((f) => f["name"] as string);
    const unknown = names.filter((n) => n !== EXT_AUTHZ && n !== "envoy.filters.http.router");
    if (unknown.length > 0) fail(at, `unexpected HTTP filters ${unknown.join(", ")} (review them here first)`);

    const routeConfig = hcm["route_config"] as Json | undefined;
    if (routeConfig === undefined) return;
    const virtualHosts = (routeConfig["virtual_hosts"] ?? []) as Json[];
    const forwardsToApp = virtualHosts.some((vh) =>
      ((vh["routes"] ?? []) as Json[]).some((r) => r["route"] !== undefined && r["route"].cluster !== adminCluster),
    );
    if (forwardsToApp) {
      if (extAuthz === undefined) fail(at, "forwards requests but has no ext_authz filter");
      const removed = new Set((routeConfig["request_headers_to_remove"] ?? []) as string[]);
      const kept = STEERING_HEADERS.filter((h) => !removed.has(h));
      if (kept.length > 0) fail(at, `request_headers_to_remove lacks ${kept.join(", ")}`);
      const logs = (hcm["access_log"] ?? []) as Json[];
      if (!logs.some((l) => JSON.stringify(l).includes("%REQ(X-REQUEST-ID)%")))
        fail(at, "no access_log line carries %REQ(X-REQUEST-ID)%");
    }
    for (const vh of virtualHosts) {
      const where = `${at} virtual host ${vh["name"]}`;
      if (vh["typed_per_filter_config"] !== undefined || routeConfig["typed_per_filter_config"] !== undefined) {
        fail(where, "per-filter config above the route level could turn ext_authz off for many routes");
      }
      const routes = (vh["routes"] ?? []) as Json[];
      if (forwardsToApp) auditRejectionRoutes(where, routes.slice(0, 3));
      for (const [i, route] of routes.entries())
        auditRoute(
          `${where} route ${i} (${route["name"] ?? JSON.stringify(route["match"])})`,
          route,
          extAuthz !== undefined,
        );
    }
  }

  function auditRejectionRoutes(where: string, first: Json[]): void {
    const [paths, encoding, host] = first;
    const expectDirect400 = (route: Json | undefined, name: string, code: "path_invalid" | "host_invalid") => {
      if (route?.["name"] !== name) fail(where, `route ${name} must come before the others`);
      else if (route["direct_response"]?.status !== 400) fail(where, `${name} must answer 400 itself`);
      else if (route["direct_response"].body?.inline_string !== denialBody(code))
        fail(where, `${name} must answer Portcullis's ${code} body`);
    };
    expectDirect400(paths, "path_invalid", "path_invalid");
    expectDirect400(encoding, "path_encoding_invalid", "path_invalid");
    expectDirect400(host, "host_invalid", "host_invalid");
    if (paths?.["match"]?.safe_regex?.regex !== REJECTED_PATH_REGEX)
      fail(where, "path_invalid must match the shared rejected-path regex");
    const header = (route: Json | undefined) => (route?.["match"]?.headers as Json[] | undefined)?.[0];
    const enc = header(encoding);
    if (
      enc?.name !== ":path" ||
      enc?.invert_match !== true ||
      enc?.string_match?.safe_regex?.regex !== VALID_PATH_ENCODING_REGEX
    ) {
      fail(where, "path_encoding_invalid must match a :path that is not the well-formed-escapes regex");
    }
    if (typeof runtimeLimit !== "number" || runtimeLimit < 138)
      fail(where, "re2.max_program_size.error_level must admit the escapes regex (program size 138)");
    const auth = header(host);
    if (
      auth?.name !== ":authority" ||
      auth?.invert_match !== true ||
      auth?.treat_missing_header_as_empty !== true ||
      auth?.string_match?.safe_regex?.regex !== VALID_AUTHORITY_REGEX
    ) {
      fail(where, "host_invalid must match an :authority (missing = empty) that is not the valid-authority regex");
    }
  }

  function auditRoute(where: string, route: Json, hasExtAuthz: boolean): void {
    if (route["direct_response"] !== undefined || route["redirect"] !== undefined) return; // forwards nothing
    const action = route["route"] as Json | undefined;
    if (action === undefined) {
      fail(where, "neither forwards to one named cluster nor answers by itself");
      return;
    }
    if (typeof action["cluster"] !== "string")
      fail(where, "must forward to one named cluster (no cluster_header, weighted_clusters or specifier)");
    const disabled = route["typed_per_filter_config"]?.[EXT_AUTHZ]?.disabled === true;
    const otherPerFilter = Object.keys(route["typed_per_filter_config"] ?? {}).filter((k) => k !== EXT_AUTHZ);
    if (otherPerFilter.length > 0) fail(where, `unexpected per-filter config ${otherPerFilter.join(", ")}`);
    const match = route["match"] as Json;
    if (action["cluster"] === authCluster) {
      const published = PUBLISHED_PATHS.includes(match["path"]) && Object.keys(match).length === 1;
      if (!published && (match["prefix"] !== "/oauth2/" || Object.keys(match).length !== 1))
        fail(where, `${authCluster} may be reached only by the plain prefix /oauth2/ or the exact assertion key paths`);
      return;
    }
    if (action["cluster"] === adminCluster) {
      const methods = ((match["headers"] ?? []) as Json[])
        .filter((h) => h["name"] === ":method")
        .map((h) => h["string_match"]?.exact);
      if (match["path"] !== "/ready" || methods.join() !== "GET")
        fail(where, `${adminCluster} may be reached only by exactly GET /ready`);
      return;
    }
    if (!hasExtAuthz || disabled) fail(where, `reaches ${action["cluster"]} without ext_authz`);
    if (
      action["prefix_rewrite"] !== undefined ||
      action["regex_rewrite"] !== undefined ||
      action["path_rewrite_policy"] !== undefined
    ) {
      fail(where, "rewrites the path after Portcullis matched it");
    }
  }
}
