// Turns the shipped envoy/replicas.yaml into a config for loopback test ports by replacing
// addresses, ports and certificate paths only, so the end-to-end tests run the health checks,
// outlier detection, retry policy and timeouts exactly as shipped. REPLACED_PATHS lists every
// replaced value; a test proves nothing else differs from the file.
import { readFile } from "node:fs/promises";
import { parse, stringify } from "yaml";

export const REPLICAS_ENVOY_CONFIG = new URL("../../envoy/replicas.yaml", import.meta.url);

export interface ReplicaPorts {
  readonly grpc: number;
  readonly auth: number;
  readonly admin: number;
}

export interface ReplicasEnvoyValues {
  /** The HTTPS listener on 127.0.0.1; 0 = ephemeral. */
  readonly listenPort: number;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  /** One entry per replica, on 127.0.0.1; the shipped file names three. */
  readonly replicas: readonly ReplicaPorts[];
  readonly upstreamPort: number;
  /** Request headers ext_authz sends beyond the shipped allowed_headers (a config that reads more, e.g. `dpop`). */
  readonly extraAllowedHeaders?: readonly string[];
  /**
   * The replicas serve `listen.tls` with a certificate for localhost: Envoy trusts `caFile` and
   * presents `certFile`/`keyFile`. Absent: the replicas are plaintext and the shipped upstream TLS
   * (transport_socket of both Portcullis clusters) is left out.
   */
  readonly portcullisTls?: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
}

type Json = Record<string, any>;

/**
 * Key paths (dot-separated, list indexes as numbers) of the values the rendering replaces; `*` is
 * any index. Everything else is the shipped file's.
 */
export const REPLACED_PATHS: readonly string[] = [
  "admin.address.socket_address.port_value",
  "static_resources.listeners.0.address.socket_address.address",
  "static_resources.listeners.0.address.socket_address.port_value",
  "static_resources.listeners.0.filter_chains.0.transport_socket.typed_config.common_tls_context.tls_certificates.0.certificate_chain.filename",
  "static_resources.listeners.0.filter_chains.0.transport_socket.typed_config.common_tls_context.tls_certificates.0.private_key.filename",
  "static_resources.listeners.0.filter_chains.0.filters.0.typed_config.route_config.virtual_hosts.0.domains",
  "static_resources.listeners.0.filter_chains.0.filters.0.typed_config.http_filters.*.typed_config.allowed_headers.patterns",
  "static_resources.clusters.*.load_assignment.endpoints.0.lb_endpoints.*.endpoint.address.socket_address.address",
  "static_resources.clusters.*.load_assignment.endpoints.0.lb_endpoints.*.endpoint.address.socket_address.port_value",
  "static_resources.clusters.*.load_assignment.endpoints.0.lb_endpoints.*.endpoint.health_check_config.port_value",
  // Left out for plaintext replicas; with portcullisTls, its files and the name checked (localhost).
  "static_resources.clusters.*.transport_socket",
];

export async function readReplicasEnvoyConfig(): Promise<string> {
  return readFile(REPLICAS_ENVOY_CONFIG, "utf8");
}

export function renderReplicasEnvoyConfig(shipped: string, values: ReplicasEnvoyValues): string {
  const config = parse(shipped) as Json;
  set(config, ["admin", "address", "socket_address", "port_value"], 0);
  const listener = only(config["static_resources"].listeners as Json[], "listener");
  set(listener, ["address", "socket_address", "address"], "127.0.0.1");
  set(listener, ["address", "socket_address", "port_value"], values.listenPort);
  const certificate = only(
    listener["filter_chains"][0].transport_socket.typed_config.common_tls_context.tls_certificates as Json[],
    "certificate",
  );
  set(certificate, ["certificate_chain", "filename"], values.tlsCertFile);
  set(certificate, ["private_key", "filename"], values.tlsKeyFile);
  // The test certificate and a browser's origin are localhost, on whatever port Envoy got.
  const hcm = only(listener["filter_chains"][0].filters as Json[], "network filter").typed_config as Json;
  set(only(hcm["route_config"].virtual_hosts as Json[], "virtual host"), ["domains"], ["localhost", "localhost:*"]);
  if (values.extraAllowedHeaders !== undefined && values.extraAllowedHeaders.length > 0) {
    const extAuthz = (hcm["http_filters"] as Json[]).find((f) => f["name"] === "envoy.filters.http.ext_authz");
    if (extAuthz === undefined) throw new Error("envoy/replicas.yaml has no ext_authz filter");
    const patterns = extAuthz["typed_config"].allowed_headers.patterns as Json[];
    set(
      extAuthz["typed_config"].allowed_headers as Json,
      ["patterns"],
      [...patterns, ...values.extraAllowedHeaders.map((name) => ({ exact: name }))],
    );
  }

  const clusters = config["static_resources"].clusters as Json[];
  replaceEndpoints(
    clusters,
    "portcullis_ext_authz",
    values.replicas.map((r) => ({ port: r.grpc })),
  );
  replaceEndpoints(
    clusters,
    "portcullis_auth",
    values.replicas.map((r) => ({ port: r.auth, healthCheckPort: r.admin })),
  );
  replaceEndpoints(clusters, "app", [{ port: values.upstreamPort }]);
  for (const name of ["portcullis_ext_authz", "portcullis_auth"]) {
    const cluster = clusters.find((c) => c["name"] === name) as Json;
    if (values.portcullisTls === undefined) delete cluster["transport_socket"];
    else upstreamTlsFor(cluster, values.portcullisTls);
  }
  return stringify(config);
}

/** The shipped UpstreamTlsContext, its files and name (SNI, SAN) the test's. */
function upstreamTlsFor(cluster: Json, files: NonNullable<ReplicasEnvoyValues["portcullisTls"]>): void {
  const context = cluster["transport_socket"]?.typed_config as Json | undefined;
  if (context === undefined) throw new Error(`envoy/replicas.yaml: cluster ${cluster["name"]} has no transport_socket`);
  set(context, ["sni"], "localhost");
  const common = context["common_tls_context"] as Json;
  set(common, ["validation_context", "trusted_ca", "filename"], files.caFile);
  const san = only(common["validation_context"].match_typed_subject_alt_names as Json[], "SAN matcher");
  set(san, ["matcher", "exact"], "localhost");
  const own = only(common["tls_certificates"] as Json[], "client certificate");
  set(own, ["certificate_chain", "filename"], files.certFile);
  set(own, ["private_key", "filename"], files.keyFile);
}

/** Every lb_endpoint becomes one per target, shaped like the shipped file's first one. */
function replaceEndpoints(
  clusters: Json[],
  name: string,
  targets: ReadonlyArray<{ port: number; healthCheckPort?: number }>,
): void {
  const cluster = clusters.find((c) => c["name"] === name);
  if (cluster === undefined) throw new Error(`envoy/replicas.yaml has no cluster ${name}`);
  const group = only(cluster["load_assignment"].endpoints as Json[], `${name} endpoint group`);
  const shipped = group["lb_endpoints"] as Json[];
  const template = shipped[0];
  if (template === undefined) throw new Error(`cluster ${name} has no endpoint`);
  const hasHealthPort = template["endpoint"].health_check_config?.port_value !== undefined;
  group["lb_endpoints"] = targets.map((target) => {
    const copy = structuredClone(template) as Json;
    set(copy, ["endpoint", "address", "socket_address", "address"], "127.0.0.1");
    set(copy, ["endpoint", "address", "socket_address", "port_value"], target.port);
    if (hasHealthPort !== (target.healthCheckPort !== undefined))
      throw new Error(`cluster ${name}: health-check port given where the file has none, or missing`);
    if (target.healthCheckPort !== undefined)
      set(copy, ["endpoint", "health_check_config", "port_value"], target.healthCheckPort);
    return copy;
  });
}

/** Replaces a value that must already exist, so a reshaped file fails here instead of silently. */
function set(node: Json, path: readonly string[], value: unknown): void {
  let at: Json = node;
  for (const key of path.slice(0, -1)) {
    at = at[key] as Json;
    if (at === undefined || at === null) throw new Error(`envoy/replicas.yaml has no ${path.join(".")}`);
  }
  const last = path[path.length - 1] as string;
  if (!(last in at)) throw new Error(`envoy/replicas.yaml has no ${path.join(".")}`);
  at[last] = value;
}

function only<T>(items: readonly T[], what: string): T {
  if (items.length !== 1) throw new Error(`envoy/replicas.yaml: expected one ${what}, found ${items.length}`);
  return items[0] as T;
}

/** Leaf paths where two parsed configs differ (a list of another length differs at the list). */
export function differingPaths(a: unknown, b: unknown, path: string[] = []): string[] {
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [path.join(".")];
    return a.flatMap((item, i) => differingPaths(item, b[i], [...path, String(i)]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((key) => differingPaths(a[key], b[key], [...path, key]));
  }
  return Object.is(a, b) ? [] : [path.join(".")];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
