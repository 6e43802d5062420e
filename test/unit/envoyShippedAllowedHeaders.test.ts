// The allowed_headers shipped in each Envoy config are the ones src/app/envoyAllowedHeaders.ts
// computes for the Portcullis config it is shipped with, so the two cannot drift apart; the demo
// template and `check-config --envoy` give the computed list too.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { envoyAllowedHeaders } from "../../src/app/envoyAllowedHeaders.ts";
import { loadCheckedConfig } from "../../src/app/loadCheckedConfig.ts";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { renderEnvoyConfig } from "../../src/demo/startEnvoy.ts";

type Json = Record<string, unknown>;
const root = new URL("../../", import.meta.url);
const KEY = "k".repeat(43);

/** Every `${VAR}` of a file, given a value long enough for any secret's rule. */
async function loadWithPlaceholders(file: string): Promise<PortcullisConfig> {
  const text = await readFile(new URL(file, root), "utf8");
  const env = Object.fromEntries([...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map(([, name]) => [name!, KEY]));
  const loaded = loadCheckedConfig(new URL(file, root).pathname, env);
  if (!loaded.ok) throw new Error(`${file}: ${JSON.stringify(loaded.problems)}`);
  return loaded.config;
}

/** The allowed_headers names of every ext_authz filter in an Envoy config (parsed), in order. */
function shippedAllowedHeaders(node: unknown, found: string[][] = []): string[][] {
  if (Array.isArray(node)) for (const item of node) shippedAllowedHeaders(item, found);
  else if (node !== null && typeof node === "object") {
    const o = node as Json;
    if (o["name"] === "envoy.filters.http.ext_authz") {
      const patterns = ((o["typed_config"] as Json)["allowed_headers"] as Json | undefined)?.["patterns"];
      found.push(((patterns ?? []) as { exact: string }[]).map((p) => p.exact));
    } else for (const value of Object.values(o)) shippedAllowedHeaders(value, found);
  }
  return found;
}

const computed = (config: PortcullisConfig) => envoyAllowedHeaders(config).map((h) => h.name);
const sorted = (names: readonly string[]) => [...names].sort();

describe("shipped Envoy configs send ext_authz the headers their Portcullis config reads", () => {
  for (const [envoyFile, portcullisFile] of [
    ["deploy/docker/envoy.yaml", "deploy/docker/portcullis.yaml"],
    ["envoy/replicas.yaml", "deploy/docker/portcullis.yaml"],
    ["envoy/production-example.yaml", "examples/idps/keycloak.yaml"],
    ["envoy/envoy-http-ext-authz.yaml", "examples/idps/keycloak.yaml"],
  ] as const) {
    it(`${envoyFile} matches ${portcullisFile}`, async () => {
      const shipped = shippedAllowedHeaders(parse(await readFile(new URL(envoyFile, root), "utf8")));
      expect(shipped).toHaveLength(1);
      expect(sorted(shipped[0]!)).toEqual(sorted(computed(await loadWithPlaceholders(portcullisFile))));
    });
  }

  it("the demo template is rendered with the list it is given, as exact matchers", async () => {
    const names = ["authorization", "x-request-id", "cookie"];
    const text = await renderEnvoyConfig({
      adminPort: 0,
      listenAddress: "127.0.0.1",
      listenPort: 0,
      tlsCertFile: "/c.pem",
      tlsKeyFile: "/k.pem",
      extAuthzPort: 1,
      authPort: 2,
      upstreamPort: 3,
      allowedHeaders: names,
    });
    expect(shippedAllowedHeaders(parse(text))).toEqual([names]);
  });

  it("the demo template refuses a name that is not a lower-case header name", async () => {
    const values = {
      adminPort: 0,
      listenAddress: "127.0.0.1",
      listenPort: 0,
      tlsCertFile: "/c.pem",
      tlsKeyFile: "/k.pem",
      extAuthzPort: 1,
      authPort: 2,
      upstreamPort: 3,
    };
    await expect(renderEnvoyConfig({ ...values, allowedHeaders: ["Cookie"] })).rejects.toThrow(/header name/);
    await expect(renderEnvoyConfig({ ...values, allowedHeaders: ["a\n b: c"] })).rejects.toThrow(/header name/);
    await expect(renderEnvoyConfig({ ...values, allowedHeaders: [] })).rejects.toThrow(/empty/);
  });
});

describe("portcullis check-config --envoy", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "portcullis-envoy-filter-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function run(config: Json, ...flags: string[]) {
    const file = join(dir, `c-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, JSON.stringify(config));
    let stdout = "";
    let stderr = "";
    const io = {
      stdout: { write: (t: string) => (stdout += t) },
      stderr: { write: (t: string) => (stderr += t) },
      env: {},
    };
    const code = await runCheckConfig(["--config", file, ...flags], io);
    return { code, stdout, stderr, file };
  }

  const config = {
    providers: {
      corp: {
        issuer: "https://idp.example.com",
        audiences: ["api"],
        clientId: "web",
        clientSecret: "secret-secret",
        redirectUri: "https://app.example.com/oauth2/callback",
      },
    },
    session: { keys: [KEY] },
    tracing: { enabled: true },
    routes: [{ name: "app", match: { path: "/" }, auth: "required" }],
  };

  it("prints the ext_authz filter with the config's allowed_headers, fail-closed, as YAML Envoy takes", async () => {
    const { code, stdout, file } = await run(config, "--envoy");
    expect(code).toBe(0);
    const filters = parse(stdout) as Json[];
    expect(filters).toHaveLength(1);
    const typed = filters[0]!["typed_config"] as Json;
    expect(typed["failure_mode_allow"]).toBe(false);
    expect(typed["status_on_error"]).toEqual({ code: "ServiceUnavailable" });
    expect(shippedAllowedHeaders(filters)).toEqual([computed(await loadWithPlaceholders(file))]);
    expect(shippedAllowedHeaders(filters)[0]).toContain("traceparent");
  });

  it("prints the summary without --envoy, and only the problems for an invalid config", async () => {
    expect((await run(config)).stdout).not.toContain("allowed_headers");
    const bad = await run({ routes: [] }, "--envoy");
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe("");
  });
});
