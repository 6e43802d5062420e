// The chart's sidecar Envoy sends ext_authz the headers its own Portcullis config reads (and the TLS
// session where an SNI condition needs it): for each example values file, and for configs that turn
// browser login off, tracing on, change policy.removeRequestHeaders or write request conditions,
// `helm template`'s allowed_headers equal what src/app/envoyAllowedHeaders.ts computes for the
// config.yaml the same render puts in the ConfigMap.
// Needs HELM_BIN (bin/test sets it).
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { envoyAllowedHeaders } from "../../src/app/envoyAllowedHeaders.ts";
import { loadCheckedConfig } from "../../src/app/loadCheckedConfig.ts";

type Json = Record<string, any>;
const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const CHART = "deploy/helm/portcullis";
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-helm-headers-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function helmBin(): string {
  const bin = process.env["HELM_BIN"];
  if (bin === undefined || bin === "") throw new Error("HELM_BIN is not set: run the suite with bin/test");
  return bin;
}

/** Renders the chart in sidecar mode: the Envoy config's allowed_headers and the Portcullis config. */
async function render(
  valuesFiles: readonly string[],
): Promise<{ shipped: string[]; configYaml: string; extAuthz: Json }> {
  const args = ["template", "shop", CHART, "--namespace", "shop", "--set", "mode=sidecar"];
  for (const file of valuesFiles) args.push("-f", file);
  const { stdout } = await run(helmBin(), args, { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 60_000 });
  const maps = parseAllDocuments(stdout)
    .map((d) => d.toJS() as Json | null)
    .filter((d): d is Json => d?.["kind"] === "ConfigMap");
  const envoyYaml = maps.map((m) => m["data"]?.["envoy.yaml"]).find((t) => typeof t === "string") as string;
  const configYaml = maps.map((m) => m["data"]?.["config.yaml"]).find((t) => typeof t === "string") as string;
  const envoy = parse(envoyYaml) as Json;
  const filters = envoy["static_resources"].listeners[0].filter_chains[0].filters[0].typed_config
    .http_filters as Json[];
  const extAuthz = filters.find((f) => f["name"] === "envoy.filters.http.ext_authz")!;
  const patterns = extAuthz["typed_config"].allowed_headers.patterns as { exact: string }[];
  return { shipped: patterns.map((p) => p.exact), configYaml, extAuthz: extAuthz["typed_config"] };
}

/** What the module computes for the rendered config.yaml, every ${VAR} given a long value. */
async function computed(configYaml: string): Promise<string[]> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, configYaml);
  const env = Object.fromEntries([...configYaml.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map(([, n]) => [n!, "k".repeat(43)]));
  const loaded = loadCheckedConfig(file, env);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.problems));
  return envoyAllowedHeaders(loaded.config).map((h) => h.name);
}

async function valuesFile(values: Json): Promise<string> {
  const file = join(dir, `values-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, stringify(values));
  return file;
}

const PROVIDER = { issuer: "https://idp.example.com", audiences: ["api"] };
const ROUTES = [{ name: "default", match: { path: "/" }, auth: "required" }];

describe("the chart's sidecar Envoy allowed_headers", () => {
  for (const example of ["values-keycloak.yaml", "values-auth0.yaml", "values-two-tenants.yaml"]) {
    it(`equal the computed list for examples/${example}`, async () => {
      const { shipped, configYaml } = await render([`${CHART}/examples/${example}`]);
      expect(shipped).toContain("cookie");
      expect([...shipped].sort()).toEqual([...(await computed(configYaml))].sort());
    });
  }

  it("leave out the Cookie and navigation headers without browser login, and follow tracing and removals", async () => {
    const file = await valuesFile({
      config: {
        providers: { corp: PROVIDER },
        routes: ROUTES,
        tracing: { enabled: true },
        policy: { removeRequestHeaders: ["x-forwarded-host", "x-original-host"] },
      },
    });
    const { shipped, configYaml } = await render([file]);
    expect(shipped).not.toContain("cookie");
    expect(shipped).toContain("traceparent");
    expect(shipped).toContain("x-original-host");
    expect(shipped).not.toContain("forwarded");
    expect([...shipped].sort()).toEqual([...(await computed(configYaml))].sort());
  });

  it("send the trace-on-demand header when log.traceRequests is on, under its configured name", async () => {
    const log = (traceRequests: Json) =>
      valuesFile({ config: { providers: { corp: PROVIDER }, routes: ROUTES, log: { traceRequests } } });
    const on = await render([await log({ enabled: true, trustedAddresses: ["10.0.0.0/8"] })]);
    expect(on.shipped).toContain("x-portcullis-trace");
    expect([...on.shipped].sort()).toEqual([...(await computed(on.configYaml))].sort());
    const named = await render([await log({ enabled: true, header: "x-debug-me", trustedAddresses: ["10.0.0.0/8"] })]);
    expect(named.shipped).toContain("x-debug-me");
    expect([...named.shipped].sort()).toEqual([...(await computed(named.configYaml))].sort());
    expect((await render([await log({ enabled: false })])).shipped).not.toContain("x-portcullis-trace");
  });

  it("send the headers request conditions read, and x-forwarded-for only with trusted hops and an address condition", async () => {
    const conditions = (policy: Json) =>
      valuesFile({
        config: {
          providers: { corp: PROVIDER },
          policy,
          routes: [
            {
              name: "v2",
              match: { path: "/api", headers: [{ name: "Accept-Version", equals: "2" }] },
              auth: "required",
            },
            {
              name: "office",
              match: { path: "/office" },
              auth: "required",
              require: { request: { sourceAddresses: ["10.0.0.0/8"], headers: [{ name: "x-site", present: true }] } },
              deny: [{ when: { groups: ["guests"], request: { headers: [{ name: "x-kiosk", present: true }] } } }],
            },
            ...ROUTES,
          ],
        },
      });
    const trusting = await render([await conditions({ trustedForwardedHops: 1 })]);
    for (const name of ["accept-version", "x-site", "x-kiosk", "x-forwarded-for"])
      expect(trusting.shipped).toContain(name);
    expect([...trusting.shipped].sort()).toEqual([...(await computed(trusting.configYaml))].sort());
    const plain = await render([await conditions({})]);
    expect(plain.shipped).not.toContain("x-forwarded-for");
    expect([...plain.shipped].sort()).toEqual([...(await computed(plain.configYaml))].sort());
  });

  it("ask Envoy for the TLS session when an SNI condition is configured, and only then", async () => {
    const routes = (match: Json) => [{ name: "partner", match: { path: "/p", ...match }, auth: "required" }, ...ROUTES];
    const sni = await render([
      await valuesFile({ config: { providers: { corp: PROVIDER }, routes: routes({ sni: ["p.example.com"] }) } }),
    ]);
    expect(sni.extAuthz["include_tls_session"]).toBe(true);
    const none = await render([await valuesFile({ config: { providers: { corp: PROVIDER }, routes: routes({}) } })]);
    expect(none.extAuthz["include_tls_session"]).toBeUndefined();
  });

  it("send the DPoP proof header when a provider enables DPoP, and only then", async () => {
    const file = await valuesFile({
      config: {
        providers: {
          corp: { ...PROVIDER, dpop: { enabled: true } },
          other: { ...PROVIDER, issuer: "https://o.example.com" },
        },
        routes: ROUTES,
      },
    });
    const { shipped, configYaml } = await render([file]);
    expect(shipped).toContain("dpop");
    expect([...shipped].sort()).toEqual([...(await computed(configYaml))].sort());
    const off = await valuesFile({
      config: { providers: { corp: { ...PROVIDER, dpop: { enabled: false } } }, routes: ROUTES },
    });
    expect((await render([off])).shipped).not.toContain("dpop");
  });

  it("send x-forwarded-client-cert where a route reads client certificates, and only then", async () => {
    const mtlsRoutes = [
      {
        name: "mesh",
        match: { path: "/mesh" },
        auth: "required",
        mtls: { trustForwardedClientCert: true, clients: [{ spiffeId: "spiffe://example.org/a", clientId: "a" }] },
      },
      ...ROUTES,
    ];
    for (const config of [
      { providers: { corp: PROVIDER }, routes: mtlsRoutes },
      { providers: { corp: { ...PROVIDER, boundTokens: "mtls" } }, routes: ROUTES },
      {
        providers: { corp: PROVIDER },
        routes: [{ ...ROUTES[0], require: { boundTokens: "any" } }],
      },
    ]) {
      const { shipped, configYaml } = await render([await valuesFile({ config })]);
      expect(shipped).toContain("x-forwarded-client-cert");
      expect([...shipped].sort()).toEqual([...(await computed(configYaml))].sort());
    }
    const overruled = await valuesFile({
      config: {
        providers: { corp: { ...PROVIDER, boundTokens: "mtls" } },
        routes: [{ ...ROUTES[0], require: { boundTokens: "none" } }],
      },
    });
    const { shipped, configYaml } = await render([overruled]);
    expect(shipped).not.toContain("x-forwarded-client-cert");
    expect([...shipped].sort()).toEqual([...(await computed(configYaml))].sort());
  });

  it("send no removal names when policy.removeRequestHeaders is empty", async () => {
    const file = await valuesFile({
      config: { providers: { corp: PROVIDER }, routes: ROUTES, policy: { removeRequestHeaders: [] } },
    });
    const { shipped, configYaml } = await render([file]);
    expect(shipped).toEqual(["authorization", "x-request-id"]);
    expect([...shipped].sort()).toEqual([...(await computed(configYaml))].sort());
  });
});
