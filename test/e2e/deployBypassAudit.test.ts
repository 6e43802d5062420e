// The deployment files cannot skip the check: every Envoy config we ship (envoy/*.yaml, the demo
// template as rendered, the replica tests' rendering, the compose Envoy, the chart's sidecar Envoy as
// committed in deploy/kubernetes and as `helm template` renders it with each example values file)
// passes auditEnvoyConfig: each listener is one HTTP connection manager with the request hygiene on,
// every route runs ext_authz or is Envoy's own 400, /oauth2/ to Portcullis's auth listener, or the
// kubelet's GET /ready to Envoy's admin; the rejection routes come first; steering headers are
// removed; failure_mode_allow is false. The Istio policy is evaluated with Istio's matching rules for
// hosts with ports and letter case, and the compose stack publishes no way to the app but Envoy.
// Needs HELM_BIN for the chart renders (bin/test provisions it).
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { renderEnvoyConfig } from "../../src/demo/startEnvoy.ts";
import { readReplicasEnvoyConfig, renderReplicasEnvoyConfig } from "../harness/renderReplicasEnvoyConfig.ts";
import { ERROR_CODES } from "../../src/errors/ErrorCode.ts";
import { auditEnvoyConfig, REJECTED_PATH_REGEX, STEERING_HEADERS } from "../harness/envoyBypassAudit.ts";

type Json = Record<string, any>;
const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const CHART = "deploy/helm/portcullis";
const read = (path: string) => readFile(join(ROOT, path), "utf8");
const objectsOf = (text: string): Json[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Json | null)
    .filter((o): o is Json => o !== null);
const envoyConfigMapOf = (objects: Json[]): Json => {
  const maps = objects.filter((o) => o["kind"] === "ConfigMap" && o["data"]?.["envoy.yaml"] !== undefined);
  if (maps.length !== 1) throw new Error(`expected one Envoy ConfigMap, found ${maps.length}`);
  return parse(maps[0]?.["data"]["envoy.yaml"] as string) as Json;
};

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-audit-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function helmTemplate(...args: string[]): Promise<string> {
  const bin = process.env["HELM_BIN"];
  if (bin === undefined || bin === "")
    throw new Error("HELM_BIN is not set: run the suite with bin/test, which provisions it");
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(dir, "cache"),
    HELM_CONFIG_HOME: join(dir, "config"),
    HELM_DATA_HOME: join(dir, "data"),
  };
  const { stdout } = await run(bin, ["template", ...args], { cwd: ROOT, timeout: 60_000, env });
  return stdout;
}

/** Every shipped Envoy config, by a name for the failure message. */
async function shippedEnvoyConfigs(): Promise<Array<[string, Json]>> {
  const demo = await renderEnvoyConfig({
    adminPort: 0,
    listenAddress: "127.0.0.1",
    listenPort: 0,
    tlsCertFile: "/c.pem",
    tlsKeyFile: "/k.pem",
    extAuthzPort: 9191,
    authPort: 8181,
    upstreamPort: 9480,
    allowedHeaders: ["authorization", "cookie"],
  });
  const replicas = await readReplicasEnvoyConfig();
  const replicasForTests = renderReplicasEnvoyConfig(replicas, {
    listenPort: 0,
    tlsCertFile: "/c.pem",
    tlsKeyFile: "/k.pem",
    replicas: [
      { grpc: 1, auth: 2, admin: 3 },
      { grpc: 4, auth: 5, admin: 6 },
    ],
    upstreamPort: 7,
  });
  return [
    ["envoy/demo.yaml (rendered)", parse(demo) as Json],
    ["envoy/production-example.yaml", parse(await read("envoy/production-example.yaml")) as Json],
    ["envoy/envoy-http-ext-authz.yaml", parse(await read("envoy/envoy-http-ext-authz.yaml")) as Json],
    ["envoy/replicas.yaml", parse(replicas) as Json],
    ["envoy/replicas.yaml (as the replica tests render it)", parse(replicasForTests) as Json],
    ["deploy/docker/envoy.yaml", parse(await read("deploy/docker/envoy.yaml")) as Json],
    ["deploy/kubernetes/sidecar.yaml", envoyConfigMapOf(objectsOf(await read("deploy/kubernetes/sidecar.yaml")))],
  ];
}

describe("every shipped Envoy config", () => {
  it("lets no route reach an upstream without ext_authz, refuses the ambiguous shapes first and strips steering headers", async () => {
    const configs = await shippedEnvoyConfigs();
    expect(configs.map(([name, config]) => [name, auditEnvoyConfig(config)])).toEqual(
      configs.map(([name]) => [name, []]),
    );
  });

  it("holds for the chart's sidecar Envoy as helm renders it with every example values file, TLS on and off", async () => {
    const examples = (await readdir(join(ROOT, CHART, "examples"))).filter((f) => f.endsWith(".yaml"));
    expect(examples.length).toBeGreaterThan(0);
    const renders: Array<[string, Json]> = [];
    for (const file of examples) {
      for (const tls of [[], ["--set", "sidecar.envoy.tls.secretName=app-tls"]]) {
        const text = await helmTemplate(
          "shop",
          CHART,
          "--namespace",
          "shop",
          "--set",
          "mode=sidecar",
          "-f",
          join(CHART, "examples", file),
          ...tls,
        );
        renders.push([`${file}${tls.length > 0 ? " with TLS" : ""}`, envoyConfigMapOf(objectsOf(text))]);
      }
    }
    expect(renders.map(([name, config]) => [name, auditEnvoyConfig(config)])).toEqual(
      renders.map(([name]) => [name, []]),
    );
  });

  it("has no Envoy in the chart's central mode: the central Envoy is envoy/replicas.yaml, audited above", async () => {
    const text = await helmTemplate(
      "portcullis",
      CHART,
      "--namespace",
      "portcullis-system",
      "-f",
      join(CHART, "examples", "values-keycloak.yaml"),
    );
    expect(objectsOf(text).filter((o) => o["kind"] === "ConfigMap" && o["data"]?.["envoy.yaml"] !== undefined)).toEqual(
      [],
    );
  });
});

describe("auditEnvoyConfig", () => {
  // Each change below opens a way around the check; the audit must name it.
  const mutated = async (change: (config: Json, hcm: Json, routes: Json[]) => void): Promise<string[]> => {
    const config = parse(await read("envoy/production-example.yaml")) as Json;
    const hcm = config["static_resources"].listeners[0].filter_chains[0].filters[0].typed_config as Json;
    change(config, hcm, hcm["route_config"].virtual_hosts[0].routes as Json[]);
    return auditEnvoyConfig(config);
  };

  it("finds nothing in the shipped production example", async () => {
    expect(await mutated(() => undefined)).toEqual([]);
  });

  it("names a catch-all route with ext_authz turned off", async () => {
    const problems = await mutated((_c, _h, routes) => {
      routes.at(-1)!["typed_per_filter_config"] = structuredClone(routes[0]!["typed_per_filter_config"]);
    });
    expect(problems).toEqual([expect.stringMatching(/reaches app without ext_authz/)]);
  });

  it("names a second listener (a health or admin port) that routes to the app without ext_authz", async () => {
    const problems = await mutated((config) => {
      config["static_resources"].listeners.push({
        name: "health",
        address: { socket_address: { address: "0.0.0.0", port_value: 8081 } },
        filter_chains: [
          {
            filters: [
              {
                name: "envoy.filters.network.http_connection_manager",
                typed_config: {
                  normalize_path: true,
                  merge_slashes: true,
                  path_with_escaped_slashes_action: "REJECT_REQUEST",
                  use_remote_address: true,
                  xff_num_trusted_hops: 0,
                  common_http_protocol_options: { headers_with_underscores_action: "REJECT_REQUEST" },
                  route_config: {
                    virtual_hosts: [
                      {
                        name: "h",
                        domains: ["*"],
                        routes: [{ match: { prefix: "/healthz" }, route: { cluster: "app" } }],
                      },
                    ],
                  },
                  http_filters: [{ name: "envoy.filters.http.router" }],
                },
              },
            ],
          },
        ],
      });
    });
    expect(problems).toContain("listener health chain 0: forwards requests but has no ext_authz filter");
    expect(problems.some((p) => /listener health .* reaches app without ext_authz/.test(p))).toBe(true);
  });

  it("names a TCP proxy chain, fail-open ext_authz, a lax HCM, a late or missing rejection route and a kept steering header", async () => {
    expect(
      await mutated((config) => {
        config["static_resources"].listeners[0].filter_chains.push({
          filters: [{ name: "envoy.filters.network.tcp_proxy", typed_config: { cluster: "app" } }],
        });
      }),
    ).toEqual([expect.stringMatching(/chain 1: must be one http_connection_manager/)]);
    expect(
      await mutated((_c, hcm) => {
        hcm["http_filters"][0].typed_config.failure_mode_allow = true;
      }),
    ).toEqual([expect.stringMatching(/failure_mode_allow must be false/)]);
    expect(
      await mutated((_c, hcm) => {
        hcm["normalize_path"] = false;
        hcm["xff_num_trusted_hops"] = 1;
      }),
    ).toEqual([expect.stringMatching(/normalize_path/), expect.stringMatching(/xff_num_trusted_hops/)]);
    expect(
      await mutated((_c, _h, routes) => {
        routes.push(routes.shift()!);
      }),
    ).toContain("listener https chain 0 virtual host app: route path_invalid must come before the others");
    expect(
      await mutated((_c, _h, routes) => {
        routes[0]!["match"].safe_regex.regex = ".*;.*";
      }),
    ).toEqual([expect.stringMatching(/path_invalid must match the shared rejected-path regex/)]);
    expect(
      await mutated((_c, hcm) => {
        hcm["route_config"].request_headers_to_remove = STEERING_HEADERS.filter((h) => h !== "x-original-url");
      }),
    ).toEqual([expect.stringMatching(/request_headers_to_remove lacks x-original-url/)]);
    expect(
      await mutated((_c, _h, routes) => {
        routes.splice(3, 0, { match: { prefix: "/oauth2/x" }, route: { cluster: "portcullis_auth" } });
      }),
    ).toEqual([expect.stringMatching(/portcullis_auth may be reached only by the plain prefix \/oauth2\//)]);
  });
});

// --- Istio ------------------------------------------------------------------------------------

/** Istio's string match in AuthorizationPolicy: exact, "prefix*", "*suffix" or "*" (present). */
function istioMatches(pattern: string, value: string, caseInsensitive: boolean): boolean {
  const [p, v] = caseInsensitive ? [pattern.toLowerCase(), value.toLowerCase()] : [pattern, value];
  if (p === "*") return v !== "";
  if (p.endsWith("*")) return v.startsWith(p.slice(0, -1));
  if (p.startsWith("*")) return v.endsWith(p.slice(1));
  return v === p;
}

/** Whether a CUSTOM policy's rules send a request to the provider (any rule; all its fields). */
function istioChecks(policy: Json, host: string, path: string): boolean {
  return (policy["spec"].rules as Json[]).some((rule) => {
    const unknown = Object.keys(rule).filter((k) => k !== "to");
    if (unknown.length > 0) throw new Error(`this evaluator does not know rule fields ${unknown.join(", ")}`);
    return (rule["to"] as Json[]).some(({ operation }) => {
      const fields: Record<string, [string, boolean]> = {
        hosts: [host, true],
        notHosts: [host, true],
        paths: [path, false],
        notPaths: [path, false],
      };
      return Object.entries(operation as Json).every(([key, patterns]) => {
        const field = fields[key];
        if (field === undefined) throw new Error(`this evaluator does not know operation.${key}`);
        const any = (patterns as string[]).some((p) => istioMatches(p, field[0], field[1]));
        return key.startsWith("not") ? !any : any;
      });
    });
  });
}

describe("deploy/istio", () => {
  it("asks Portcullis about every request at the gateway but /oauth2/* on the app's host, whatever port or case the Host carries", async () => {
    const policy = objectsOf(await read("deploy/istio/authorization-policy.yaml")).find(
      (o) => o["spec"]?.action === "CUSTOM",
    ) as Json;
    const hosts = [
      "app.example.com",
      "app.example.com:443",
      "APP.Example.com:8443",
      "app.example.com:443:80",
      "app.example.com.",
      "other.example.com",
      "other.example.com:443",
    ];
    const paths = [
      "/",
      "/admin/y",
      "/oauth2",
      "/oauth2x/y",
      "/Oauth2/callback",
      "/oauth2/callback",
      "/oauth2/sign_out",
    ];
    const unchecked = hosts.flatMap((host) =>
      paths.filter((path) => !istioChecks(policy, host, path)).map((path) => `${host}${path}`),
    );
    // The VirtualService routes /oauth2/ on those hosts to Portcullis's auth listener, nowhere else.
    expect(unchecked).toEqual(
      ["app.example.com", "app.example.com:443", "APP.Example.com:8443", "app.example.com:443:80"].flatMap((h) => [
        `${h}/oauth2/callback`,
        `${h}/oauth2/sign_out`,
      ]),
    );
  });

  it("refuses the path shapes and bad ports before any route at the gateway, strips steering headers on every route and rejects underscores", async () => {
    const objects = objectsOf(await read("deploy/istio/virtual-service.yaml"));
    const http = (objects.find((o) => o["kind"] === "VirtualService") as Json)["spec"].http as Json[];
    expect(http.slice(0, 2).map((r) => [r["name"], r["directResponse"]?.status])).toEqual([
      ["path-invalid", 400],
      ["host-invalid", 400],
    ]);
    expect(http[0]?.["match"]).toEqual([{ uri: { regex: REJECTED_PATH_REGEX } }]);
    expect(http.slice(0, 2).map((r) => r["directResponse"].body.string)).toEqual(
      (["path_invalid", "host_invalid"] as const).map((code) =>
        JSON.stringify({ error: code, error_description: ERROR_CODES[code].description }),
      ),
    );
    const bad = new RegExp(`^(?:${http[1]?.["match"][0].authority.regex as string})$`);
    expect(
      [
        "app.example.com:443:80",
        "app.example.com:",
        "app.example.com:x",
        "app.example.com:123456",
        "app.example.com:44a",
      ].filter((a) => !bad.test(a)),
    ).toEqual([]);
    expect(["app.example.com", "app.example.com:443", "APP.example.com:8443"].filter((a) => bad.test(a))).toEqual([]);
    for (const route of http.filter((r) => r["route"] !== undefined))
      expect(route["headers"]?.request?.remove).toEqual([...STEERING_HEADERS]);
    const filter = objects.find((o) => o["kind"] === "EnvoyFilter") as Json;
    expect(filter["spec"].workloadSelector.labels).toEqual({ istio: "ingressgateway" });
    const [patch] = filter["spec"].configPatches as Json[];
    expect(patch?.["match"]).toMatchObject({
      context: "GATEWAY",
      listener: { filterChain: { filter: { name: "envoy.filters.network.http_connection_manager" } } },
    });
    expect(patch?.["patch"].value.typed_config.common_http_protocol_options).toEqual({
      headers_with_underscores_action: "REJECT_REQUEST",
    });
  });
});

describe("deploy/compose.yaml", () => {
  it("publishes no port of the app, and its Envoy runs the audited deploy/docker/envoy.yaml", async () => {
    const compose = parse(await read("deploy/compose.yaml")) as { services: Record<string, Json> };
    expect(compose.services["app"]?.["ports"]).toBeUndefined();
    expect(compose.services["app"]?.["network_mode"]).toBeUndefined();
    expect(compose.services["envoy"]?.["volumes"]).toContain("./docker/envoy.yaml:/etc/envoy/envoy.yaml:ro");
    expect(compose.services["envoy"]?.["command"]).toEqual(expect.arrayContaining(["-c", "/etc/envoy/envoy.yaml"]));
  });
});
