// deploy/istio/, read without a cluster: the extension provider points at the chart's central
// Service and its grpc port and fails closed, the CUSTOM policy uses that provider and exempts only
// /oauth2/*, the VirtualService sends /oauth2/ to the Service's auth port on the host the config's
// redirectUri names, and the app accepts only the gateway. Istio's kinds are not in Kubernetes'
// schemas, so their apiVersion, kind, required fields and known keys are checked here by hand.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";

type Json = Record<string, any>;
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const objectsOf = (path: string): Json[] =>
  parseAllDocuments(read(path))
    .map((d) => d.toJS() as Json | null)
    .filter((o): o is Json => o !== null);
const one = (objects: Json[], kind: string, name?: string): Json => {
  const found = objects.filter((o) => o["kind"] === kind && (name === undefined || o["metadata"]?.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind} ${name ?? ""}, found ${found.length}`);
  return found[0] as Json;
};

/** Fails on a key Istio does not define at that place (istiod would reject the object) or a required one missing. */
function expectKeys(where: string, value: Json, allowed: readonly string[], required: readonly string[] = []) {
  expect({ where, unknown: Object.keys(value).filter((k) => !allowed.includes(k)) }).toEqual({ where, unknown: [] });
  expect({ where, missing: required.filter((k) => value[k] === undefined) }).toEqual({ where, missing: [] });
}
function expectObjectHeader(o: Json, apiVersion: string) {
  expect(o["apiVersion"]).toBe(apiVersion);
  expectKeys(
    `${o["kind"]} metadata`,
    o["metadata"],
    ["name", "namespace", "labels", "annotations"],
    ["name", "namespace"],
  );
  expect(o["metadata"].name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
}

const central = objectsOf("deploy/kubernetes/central.yaml");
const service = one(central, "Service", "portcullis");
const serviceFqdn = `${service["metadata"].name}.${service["metadata"].namespace}.svc.cluster.local`;
const servicePort = (name: string) =>
  (service["spec"].ports as Json[]).find((p) => p["name"] === name)?.["port"] as number;
const portcullisConfig = parse(one(central, "ConfigMap")["data"]["config.yaml"] as string) as Json;
const redirectHosts = Object.values(portcullisConfig["providers"] as Record<string, Json>).map(
  (p) => new URL(p["redirectUri"]).host,
);

const helmValues = parse(read("deploy/istio/istiod-values.yaml")) as Json;
const operator = parse(read("deploy/istio/istio-operator.yaml")) as Json;
const policies = objectsOf("deploy/istio/authorization-policy.yaml");
const routing = objectsOf("deploy/istio/virtual-service.yaml");

describe("deploy/istio mesh config", () => {
  const providers = helmValues["meshConfig"].extensionProviders as Json[];

  it("registers Portcullis as an envoyExtAuthzGrpc provider on the central Service's grpc port, failing closed", () => {
    expect(providers).toHaveLength(1);
    const provider = providers[0] as Json;
    expectKeys("extensionProviders[0]", provider, ["name", "envoyExtAuthzGrpc"], ["name", "envoyExtAuthzGrpc"]);
    const grpc = provider["envoyExtAuthzGrpc"] as Json;
    expectKeys(
      "envoyExtAuthzGrpc",
      grpc,
      ["service", "port", "timeout", "failOpen", "statusOnError", "includeRequestBodyInCheck"],
      ["service", "port"],
    );
    expect(grpc["service"]).toBe(serviceFqdn);
    expect(grpc["port"]).toBe(servicePort("grpc"));
    expect(grpc["failOpen"]).toBe(false);
    expect(grpc["timeout"]).toMatch(/^\d+(ms|s)$/);
  });

  it("normalises paths the way Portcullis matches them", () => {
    expect(helmValues["meshConfig"].pathNormalization).toEqual({ normalization: "DECODE_AND_MERGE_SLASHES" });
  });

  it("gives istioctl the same meshConfig as the istiod Helm values", () => {
    expectObjectHeader(operator, "install.istio.io/v1alpha1");
    expect(operator["kind"]).toBe("IstioOperator");
    expect(operator["spec"].meshConfig).toEqual(helmValues["meshConfig"]);
  });
});

describe("deploy/istio/authorization-policy.yaml", () => {
  const custom = one(policies, "AuthorizationPolicy", "portcullis");
  const allowGateway = one(policies, "AuthorizationPolicy", "app-from-gateway-only");

  it("sends the gateway's requests for the app's host to the Portcullis provider, /oauth2/* excepted", () => {
    expectObjectHeader(custom, "security.istio.io/v1");
    expectKeys(
      "spec",
      custom["spec"],
      ["selector", "targetRef", "targetRefs", "action", "provider", "rules"],
      ["action", "provider"],
    );
    expect(custom["spec"].action).toBe("CUSTOM");
    const names = (helmValues["meshConfig"].extensionProviders as Json[]).map((p) => p["name"]);
    expect(names).toContain(custom["spec"].provider.name);
    const operations = (custom["spec"].rules as Json[]).flatMap((r) =>
      (r["to"] as Json[]).map((t) => t["operation"] as Json),
    );
    for (const op of operations)
      expectKeys("operation", op, [
        "hosts",
        "notHosts",
        "ports",
        "notPorts",
        "methods",
        "notMethods",
        "paths",
        "notPaths",
      ]);
    // Which requests the rules send to Portcullis is asserted in deployBypassAudit.test.ts; here, that
    // the exemption is /oauth2/* on the redirectUri's host, with and without a port.
    expect(operations.flatMap((op) => op["hosts"] ?? [])).toEqual([]);
    expect(operations.flatMap((op) => op["notHosts"] ?? [])).toEqual(redirectHosts.flatMap((h) => [h, `${h}:*`]));
    expect(operations.flatMap((op) => [...(op["paths"] ?? []), ...(op["notPaths"] ?? [])])).toEqual([
      "/oauth2/*",
      "/oauth2/*",
    ]);
  });

  it("lets only the gateway's mTLS identity reach the app, so no pod can forge x-user-* headers", () => {
    expectObjectHeader(allowGateway, "security.istio.io/v1");
    expect(allowGateway["spec"].action).toBe("ALLOW");
    const sources = (allowGateway["spec"].rules as Json[]).flatMap((r) =>
      (r["from"] as Json[]).map((f) => f["source"] as Json),
    );
    expect(sources.flatMap((s) => s["principals"])).toEqual([
      `cluster.local/ns/${custom["metadata"].namespace}/sa/istio-ingressgateway-service-account`,
    ]);
  });
});

describe("deploy/istio/virtual-service.yaml", () => {
  const gateway = one(routing, "Gateway");
  const vs = one(routing, "VirtualService");

  it("routes /oauth2/ to the central Service's auth port and the rest to the app, on the redirectUri's host", () => {
    expectObjectHeader(vs, "networking.istio.io/v1");
    expectKeys("spec", vs["spec"], ["hosts", "gateways", "http", "tls", "tcp", "exportTo"], ["hosts"]);
    expect(vs["spec"].hosts).toEqual(redirectHosts);
    const http = vs["spec"].http as Json[];
    for (const route of http) {
      expectKeys(`http ${route["name"]}`, route, [
        "name",
        "match",
        "route",
        "redirect",
        "directResponse",
        "rewrite",
        "timeout",
        "retries",
        "headers",
        "fault",
        "mirror",
        "corsPolicy",
      ]);
      // Exactly one of route, redirect and directResponse (istiod refuses the others).
      expect({
        name: route["name"],
        actions: ["route", "redirect", "directResponse"].filter((k) => route[k] !== undefined).length,
      }).toEqual({ name: route["name"], actions: 1 });
    }
    const auth = http.find((r) => r["name"] === "portcullis-auth") as Json;
    expect(auth["match"]).toEqual([{ uri: { prefix: "/oauth2/" } }]);
    expect(auth["route"]).toEqual([{ destination: { host: serviceFqdn, port: { number: servicePort("http-auth") } } }]);
    // The catch-all comes last, so /oauth2/ is never shadowed.
    expect(http.at(-1)?.["match"]).toBeUndefined();
    expect(http.filter((r) => JSON.stringify(r["route"] ?? null).includes(serviceFqdn))).toHaveLength(1);
  });

  it("binds to the Gateway it defines, which serves that host over TLS", () => {
    expectObjectHeader(gateway, "networking.istio.io/v1");
    expectKeys("spec", gateway["spec"], ["selector", "servers"], ["servers"]);
    expect(vs["spec"].gateways).toEqual([`${gateway["metadata"].namespace}/${gateway["metadata"].name}`]);
    const servers = gateway["spec"].servers as Json[];
    expect(servers.flatMap((s) => s["hosts"])).toEqual(redirectHosts);
    expect(servers.map((s) => [s["port"].protocol, s["tls"]?.mode])).toEqual([["HTTPS", "SIMPLE"]]);
    // The CUSTOM policy selects the same gateway pods.
    expect(one(policies, "AuthorizationPolicy", "portcullis")["spec"].selector.matchLabels).toEqual(
      gateway["spec"].selector,
    );
  });
});

describe("the Istio section of docs/operations.md", () => {
  it("refers to every file in deploy/istio", () => {
    const readme = read("docs/operations.md");
    const section = readme.slice(
      readme.indexOf("\n## Istio"),
      readme.indexOf("\n## ", readme.indexOf("\n## Istio") + 1),
    );
    for (const file of [
      "istiod-values.yaml",
      "istio-operator.yaml",
      "authorization-policy.yaml",
      "virtual-service.yaml",
    ]) {
      expect(section).toContain(`deploy/istio/${file}`);
    }
  });
});
