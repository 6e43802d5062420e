// envoy/replicas.yaml read as Envoy would: the Check is retried on another replica where Envoy
// honours it, fails closed, and bounds each try; every replica is health-checked over
// grpc.health.v1 often enough for Portcullis's default drain; failing replicas are ejected; login
// callbacks are never sent twice; the ports are Portcullis's defaults. And the config the
// end-to-end tests run is this file with only addresses, ports, certificate paths and domains changed.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { differingPaths, REPLACED_PATHS, renderReplicasEnvoyConfig } from "../harness/renderReplicasEnvoyConfig.ts";

type Json = Record<string, any>;
const shippedText = readFileSync(new URL("../../envoy/replicas.yaml", import.meta.url), "utf8");
const shipped = parse(shippedText) as Json;
const hcm = shipped["static_resources"].listeners[0].filter_chains[0].filters[0].typed_config as Json;
const extAuthz = (hcm["http_filters"] as Json[]).find((f) => f["name"] === "envoy.filters.http.ext_authz")?.[
  "typed_config"
] as Json;
const cluster = (name: string) =>
  (shipped["static_resources"].clusters as Json[]).find((c) => c["name"] === name) as Json;
const seconds = (duration: string) => Number(/^(\d+(?:\.\d+)?)s$/.exec(duration)?.[1] ?? Number.NaN);
const defaults = (() => {
  const result = parseConfig({
    providers: { idp: { issuer: "https://idp.example.com", audiences: ["api"] } },
    routes: [{ name: "all", match: { path: "/" }, auth: "public" }],
  });
  if (!result.ok) throw new Error("the minimal config does not parse");
  return result.config;
})();

describe("envoy/replicas.yaml", () => {
  it("retries a Check on grpc_service itself, where ext_authz honours it, on another replica", () => {
    const grpcService = extAuthz["grpc_service"] as Json;
    // envoy_grpc.retry_policy exists too, but only paces xDS reconnections: a Check is never retried by it.
    expect(grpcService["envoy_grpc"]).toEqual({ cluster_name: "portcullis_ext_authz", skip_envoy_headers: true });
    const retry = grpcService["retry_policy"] as Json;
    expect(String(retry["retry_on"]).split(",").sort()).toEqual([
      "connect-failure",
      "refused-stream",
      "reset",
      "unavailable",
    ]);
    expect(retry["num_retries"]).toBeGreaterThanOrEqual(1);
    expect(retry["retry_host_predicate"].map((p: Json) => p["name"])).toEqual([
      "envoy.retry_host_predicates.previous_hosts",
    ]);
    expect(seconds(retry["retry_back_off"].base_interval)).toBeLessThanOrEqual(0.05);
  });

  it("fails closed and gives each try 1 s and the whole check room for one retry", () => {
    expect(extAuthz["failure_mode_allow"]).toBe(false);
    expect(extAuthz["status_on_error"]).toEqual({ code: "ServiceUnavailable" });
    // Envoy takes the back-off's max_interval as the per-try timeout of an envoy_grpc call.
    const perTry = seconds(extAuthz["grpc_service"].retry_policy.retry_back_off.max_interval);
    expect(perTry).toBe(1);
    // Portcullis answers within its own outbound timeouts, so a try never needs more.
    const provider = defaults.providers["idp"];
    expect(perTry * 1000).toBeGreaterThan(
      Math.max(provider?.jwksTimeoutMs ?? Infinity, provider?.requestTimeoutMs ?? Infinity),
    );
    expect(seconds(extAuthz["grpc_service"].timeout)).toBeGreaterThanOrEqual(2 * perTry);
  });

  it("health-checks every replica over grpc.health.v1 often enough to see a drain begin", () => {
    const [check, ...others] = cluster("portcullis_ext_authz")["health_checks"] as Json[];
    expect(others).toEqual([]);
    expect(check?.["grpc_health_check"]).toEqual({ service_name: "envoy.service.auth.v3.Authorization" });
    // One NOT_SERVING answer takes a replica out; the next check comes within interval + jitter.
    const noticeWithin =
      seconds(check?.["interval"]) + seconds(check?.["interval_jitter"]) + seconds(check?.["timeout"]);
    expect(2 * noticeWithin).toBeLessThanOrEqual(defaults.shutdown.drainSeconds);
    expect(seconds(check?.["no_traffic_interval"])).toBeLessThanOrEqual(defaults.shutdown.drainSeconds / 2);
    const auth = (cluster("portcullis_auth")["health_checks"] as Json[])[0] as Json;
    expect(auth["http_health_check"]).toEqual({ path: "/readyz" });
    expect(
      2 * (seconds(auth["interval"]) + seconds(auth["interval_jitter"]) + seconds(auth["timeout"])),
    ).toBeLessThanOrEqual(defaults.shutdown.drainSeconds);
  });

  it("ejects a replica after consecutive failures and lets a dead replica's checks all be retried", () => {
    for (const name of ["portcullis_ext_authz", "portcullis_auth"]) {
      const outliers = cluster(name)["outlier_detection"] as Json;
      expect(outliers["consecutive_gateway_failure"]).toBeLessThanOrEqual(5);
      expect(outliers["enforcing_consecutive_gateway_failure"]).toBe(100);
      expect(outliers["max_ejection_percent"]).toBeLessThan(100);
    }
    // Envoy's default allows 3 retries in flight per cluster, far too few under load.
    const [thresholds] = cluster("portcullis_ext_authz")["circuit_breakers"].thresholds as Json[];
    expect(thresholds?.["retry_budget"].budget_percent.value).toBeGreaterThanOrEqual(34);
  });

  it("retries /oauth2/ only when the request never reached a replica, and keeps ext_authz off there", () => {
    const routes = hcm["route_config"].virtual_hosts[0].routes as Json[];
    const oauth = routes.find((r) => r["match"].prefix === "/oauth2/") as Json;
    expect(oauth["route"].cluster).toBe("portcullis_auth");
    expect(String(oauth["route"].retry_policy.retry_on).split(",").sort()).toEqual([
      "connect-failure",
      "refused-stream",
      "reset-before-request",
    ]);
    expect(oauth["typed_per_filter_config"]["envoy.filters.http.ext_authz"].disabled).toBe(true);
    // Routes that forward without ext_authz (Envoy's own 400 answers forward nothing).
    const skipping = routes.filter(
      (r) =>
        r["route"] !== undefined && r["typed_per_filter_config"]?.["envoy.filters.http.ext_authz"]?.disabled === true,
    );
    // The assertion's public keys and discovery document, by exact path, then /oauth2/.
    expect(skipping.map((r) => r["match"])).toEqual([
      { path: "/.well-known/jwks.json" },
      { path: "/.well-known/openid-configuration" },
      { prefix: "/oauth2/" },
    ]);
    expect(skipping.every((r) => r["route"].cluster === "portcullis_auth")).toBe(true);
  });

  it("lists three replicas on Portcullis's default ports in both clusters", () => {
    const endpoints = (name: string) =>
      (cluster(name)["load_assignment"].endpoints[0].lb_endpoints as Json[]).map((e) => e["endpoint"]);
    expect(endpoints("portcullis_ext_authz").map((e) => e.address.socket_address.port_value)).toEqual(
      Array(3).fill(defaults.listen.grpc.port),
    );
    expect(
      endpoints("portcullis_auth").map((e) => [e.address.socket_address.port_value, e.health_check_config.port_value]),
    ).toEqual(Array(3).fill([defaults.listen.auth.port, defaults.listen.admin.port]));
    expect(endpoints("portcullis_auth").map((e) => e.address.socket_address.address)).toEqual(
      endpoints("portcullis_ext_authz").map((e) => e.address.socket_address.address),
    );
  });

  it("talks TLS to both Portcullis listeners, checking the certificate's CA and name and presenting its own", () => {
    for (const [name, alpn] of [
      ["portcullis_ext_authz", "h2"],
      ["portcullis_auth", "http/1.1"],
    ] as const) {
      const socket = cluster(name)["transport_socket"] as Json;
      expect(socket["typed_config"]["@type"]).toBe(
        "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
      );
      const context = socket["typed_config"] as Json;
      expect(context["sni"]).toBe("portcullis");
      const common = context["common_tls_context"] as Json;
      expect(common["alpn_protocols"]).toEqual([alpn]);
      expect(common["validation_context"].trusted_ca.filename).toBe("/etc/envoy/portcullis-tls/ca.crt");
      expect(common["validation_context"].match_typed_subject_alt_names).toEqual([
        { san_type: "DNS", matcher: { exact: "portcullis" } },
      ]);
      expect(common["tls_certificates"]).toHaveLength(1);
    }
    // The auth cluster's health checks go to the plaintext admin listener.
    const auth = cluster("portcullis_auth");
    const criteria = auth["health_checks"][0].transport_socket_match_criteria as Json;
    const plaintext = (auth["transport_socket_matches"] as Json[]).find((m) =>
      Object.entries(criteria).every(([k, v]) => m["match"][k] === v),
    );
    expect(plaintext?.["transport_socket"].name).toBe("envoy.transport_sockets.raw_buffer");
  });

  it("is what the end-to-end tests run, but for addresses, ports, certificate paths, domains and added allowed headers", () => {
    const rendered = parse(
      renderReplicasEnvoyConfig(shippedText, {
        listenPort: 18443,
        tlsCertFile: "/tmp/cert.pem",
        tlsKeyFile: "/tmp/key.pem",
        replicas: [19191, 29191, 39191].map((grpc, i) => ({ grpc, auth: 18181 + i, admin: 19464 + i })),
        upstreamPort: 18080,
        extraAllowedHeaders: ["dpop"],
      }),
    );
    // A replaced object (the upstream TLS) covers every path below it.
    const patterns = REPLACED_PATHS.map(
      (p) => new RegExp(`^${p.replaceAll(".", "\\.").replaceAll("*", "\\d+")}(?:\\..+)?$`),
    );
    const changed = differingPaths(shipped, rendered);
    expect(changed.filter((path) => !patterns.some((p) => p.test(path)))).toEqual([]);
    // And every kind of replacement happened (the rendering really targets this file).
    expect(patterns.filter((p) => !changed.some((path) => p.test(path)))).toEqual([]);
  });

  it("renders one endpoint per replica, and refuses a file of another shape", () => {
    const two = parse(
      renderReplicasEnvoyConfig(shippedText, {
        listenPort: 0,
        tlsCertFile: "/c",
        tlsKeyFile: "/k",
        replicas: [
          { grpc: 1, auth: 2, admin: 3 },
          { grpc: 4, auth: 5, admin: 6 },
        ],
        upstreamPort: 7,
      }),
    ) as Json;
    const grpcPorts = (two["static_resources"].clusters as Json[])[0]?.[
      "load_assignment"
    ].endpoints[0].lb_endpoints.map((e: Json) => e["endpoint"].address.socket_address.port_value);
    expect(grpcPorts).toEqual([1, 4]);
    expect(() =>
      renderReplicasEnvoyConfig(
        "static_resources: { listeners: [], clusters: [] }\nadmin: { address: { socket_address: { port_value: 1 } } }\n",
        {
          listenPort: 0,
          tlsCertFile: "/c",
          tlsKeyFile: "/k",
          replicas: [],
          upstreamPort: 7,
        },
      ),
    ).toThrow(/expected one listener/);
  });
});
