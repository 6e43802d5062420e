// The Envoy configs we ship are accepted by the pinned Envoy (`--mode validate`), and the demo
// template cannot be rendered with a placeholder left unset. envoy/replicas.yaml is validated as
// shipped and as the replica tests render it, and Envoy must know every retry condition it names
// (an unknown one is only a warning, then silently ignored). envoy/envoy-http-ext-authz.yaml (ext_authz
// over HTTP) is validated as shipped, failing closed and keeping the forward-auth endpoint from clients.

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import type { DemoCertificate } from "../../src/demo/startEnvoy.ts";
import { fillTemplate, renderEnvoyConfig } from "../../src/demo/startEnvoy.ts";
import { envoyBinary } from "../../src/demo/startEnvoy.ts";
import { readReplicasEnvoyConfig, renderReplicasEnvoyConfig } from "../harness/renderReplicasEnvoyConfig.ts";

const run = promisify(execFile);
let dir: string;
let cert: DemoCertificate;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-envoy-configs-"));
  cert = await ensureDemoCertificate(join(dir, "cert"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function validate(config: string): Promise<string> {
  const file = join(dir, `config-${Math.random().toString(36).slice(2)}.yaml`);
  await writeFile(file, config);
  const { stdout, stderr } = await run(envoyBinary(), ["--mode", "validate", "--disable-hot-restart", "-c", file], {
    timeout: 30_000,
  });
  return stdout + stderr;
}

type Json = Record<string, unknown>;
const at = (value: unknown, ...path: (string | number)[]): unknown =>
  path.reduce<unknown>((node, key) => (node as Record<string | number, unknown> | undefined)?.[key], value);

describe("envoy/production-example.yaml", () => {
  it("is a valid Envoy config once its certificate paths point at real files", async () => {
    const text = (await readFile(new URL("../../envoy/production-example.yaml", import.meta.url), "utf8"))
      .replace("/etc/envoy/tls/fullchain.pem", cert.certFile)
      .replace("/etc/envoy/tls/privkey.pem", cert.keyFile)
      .replaceAll("/etc/envoy/portcullis-tls/ca.crt", cert.certFile)
      .replaceAll("/etc/envoy/portcullis-tls/tls.crt", cert.certFile)
      .replaceAll("/etc/envoy/portcullis-tls/tls.key", cert.keyFile);
    expect(text).not.toMatch(/filename: \/etc\/envoy\/portcullis-tls\//);
    expect(await validate(text)).toMatch(/OK/);
  });

  it("fails closed, times ext_authz out and routes /oauth2/ and the assertion keys to the auth listener without ext_authz", async () => {
    const config = parse(
      await readFile(new URL("../../envoy/production-example.yaml", import.meta.url), "utf8"),
    ) as Json;
    const hcm = at(config, "static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config");
    const extAuthz = at(hcm, "http_filters", 0, "typed_config");
    expect(at(extAuthz, "failure_mode_allow")).toBe(false);
    expect(at(extAuthz, "grpc_service", "timeout")).toBe("1s");
    const routes = at(hcm, "route_config", "virtual_hosts", 0, "routes") as Json[];
    // Only the login endpoints (by prefix) and the assertion's public documents (exact paths) skip ext_authz.
    const skipping = routes.filter(
      (r) =>
        at(r, "route") !== undefined &&
        at(r, "typed_per_filter_config", "envoy.filters.http.ext_authz", "disabled") === true,
    );
    expect(skipping.map((r) => at(r, "match", "prefix") ?? at(r, "match", "path"))).toEqual([
      "/.well-known/jwks.json",
      "/.well-known/openid-configuration",
      "/oauth2/",
    ]);
    const oauthRoute = skipping.at(-1);
    expect(at(oauthRoute, "route", "cluster")).toBe("portcullis_auth");
    expect(at(oauthRoute, "typed_per_filter_config", "envoy.filters.http.ext_authz", "disabled")).toBe(true);
    expect(at(hcm, "common_http_protocol_options", "headers_with_underscores_action")).toBe("REJECT_REQUEST");
  });
});

describe("envoy/envoy-http-ext-authz.yaml", () => {
  const read = () => readFile(new URL("../../envoy/envoy-http-ext-authz.yaml", import.meta.url), "utf8");

  it("is a valid Envoy config once its certificate paths point at real files", async () => {
    const text = (await read())
      .replace("/etc/envoy/tls/fullchain.pem", cert.certFile)
      .replace("/etc/envoy/tls/privkey.pem", cert.keyFile);
    expect(await validate(text)).toMatch(/OK/);
  });

  it("fails closed, asks forwardAuth.path's default and keeps the endpoint from clients before /oauth2/", async () => {
    const config = parse(await read()) as Json;
    const hcm = at(config, "static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config");
    const extAuthz = at(hcm, "http_filters", 0, "typed_config");
    expect(at(extAuthz, "failure_mode_allow")).toBe(false);
    expect(at(extAuthz, "http_service", "path_prefix")).toBe("/oauth2/auth");
    expect(at(extAuthz, "http_service", "server_uri", "timeout")).toBe("1s");
    const routes = at(hcm, "route_config", "virtual_hosts", 0, "routes") as Json[];
    const blocked = routes.findIndex((r) => at(r, "match", "path_separated_prefix") === "/oauth2/auth");
    const oauth = routes.findIndex((r) => at(r, "match", "prefix") === "/oauth2/");
    expect(at(routes[blocked], "direct_response", "status")).toBe(404);
    expect(blocked).toBeLessThan(oauth);
  });
});

describe("envoy/replicas.yaml", () => {
  it("is a valid Envoy config once its certificate paths point at real files, every retry condition known", async () => {
    const text = (await readReplicasEnvoyConfig())
      .replace("/etc/envoy/tls/fullchain.pem", cert.certFile)
      .replace("/etc/envoy/tls/privkey.pem", cert.keyFile)
      .replaceAll("/etc/envoy/portcullis-tls/ca.crt", cert.certFile)
      .replaceAll("/etc/envoy/portcullis-tls/tls.crt", cert.certFile)
      .replaceAll("/etc/envoy/portcullis-tls/tls.key", cert.keyFile);
    expect(text).not.toContain("/etc/envoy/tls/");
    expect(text).not.toMatch(/filename: \/etc\/envoy\/portcullis-tls\//);
    const output = await validate(text);
    expect(output).toMatch(/OK/);
    expect(output).not.toMatch(/Unknown retry_on policy token/);
  });

  it("stays valid as the replica tests render it for three loopback replicas", async () => {
    const text = renderReplicasEnvoyConfig(await readReplicasEnvoyConfig(), {
      listenPort: 0,
      tlsCertFile: cert.certFile,
      tlsKeyFile: cert.keyFile,
      replicas: [0, 1, 2].map((i) => ({ grpc: 19191 + i, auth: 18181 + i, admin: 19464 + i })),
      upstreamPort: 18080,
    });
    expect(await validate(text)).toMatch(/OK/);
    const withTls = renderReplicasEnvoyConfig(await readReplicasEnvoyConfig(), {
      listenPort: 0,
      tlsCertFile: cert.certFile,
      tlsKeyFile: cert.keyFile,
      replicas: [0, 1, 2].map((i) => ({ grpc: 19191 + i, auth: 18181 + i, admin: 19464 + i })),
      upstreamPort: 18080,
      portcullisTls: { caFile: cert.certFile, certFile: cert.certFile, keyFile: cert.keyFile },
    });
    expect(await validate(withTls)).toMatch(/OK/);
  });
});

describe("envoy/demo.yaml", () => {
  it("renders into a config the pinned Envoy accepts", async () => {
    const text = await renderEnvoyConfig({
      adminPort: 0,
      listenAddress: "127.0.0.1",
      listenPort: 0,
      tlsCertFile: cert.certFile,
      tlsKeyFile: cert.keyFile,
      extAuthzPort: 9191,
      authPort: 8181,
      upstreamPort: 9480,
      allowedHeaders: ["authorization", "cookie"],
    });
    expect(await validate(text)).toMatch(/OK/);
  });

  it("times ext_authz out after 1s by default (the demo) and after the given time when one is set", async () => {
    const values = {
      adminPort: 0,
      listenAddress: "127.0.0.1",
      listenPort: 0,
      tlsCertFile: cert.certFile,
      tlsKeyFile: cert.keyFile,
      extAuthzPort: 9191,
      authPort: 8181,
      upstreamPort: 9480,
      allowedHeaders: ["authorization", "cookie"],
    };
    const timeoutOf = (text: string) =>
      at(
        parse(text),
        "static_resources",
        "listeners",
        0,
        "filter_chains",
        0,
        "filters",
        0,
        "typed_config",
        "http_filters",
        0,
        "typed_config",
        "grpc_service",
        "timeout",
      );
    expect(timeoutOf(await renderEnvoyConfig(values))).toBe("1s");
    const longer = await renderEnvoyConfig({ ...values, extAuthzTimeoutMs: 6000 });
    expect(timeoutOf(longer)).toBe("6s");
    expect(await validate(longer)).toMatch(/OK/);
  });

  it("refuses to render when a placeholder has no value", () => {
    expect(() =>
      fillTemplate("port_value: {{LISTEN_PORT}}\naddress: {{LISTEN_ADDRESS}}\n", { LISTEN_PORT: 1 }),
    ).toThrow(/LISTEN_ADDRESS/);
  });

  it("quotes rendered strings, so a path cannot inject YAML", () => {
    const text = fillTemplate("file: {{F}}\n", { F: "/tmp/x\nadmin: evil" });
    expect(parse(text)).toEqual({ file: "/tmp/x\nadmin: evil" });
  });
});

describe("envoy/per-user-rate-limit.yaml", () => {
  it("is a valid Envoy config that limits per user from ext_authz's dynamic metadata, after ext_authz", async () => {
    const text = await renderEnvoyConfig(
      {
        adminPort: 0,
        listenAddress: "127.0.0.1",
        listenPort: 0,
        tlsCertFile: cert.certFile,
        tlsKeyFile: cert.keyFile,
        extAuthzPort: 9191,
        authPort: 8181,
        upstreamPort: 9480,
        allowedHeaders: ["authorization", "cookie"],
      },
      new URL("../../envoy/per-user-rate-limit.yaml", import.meta.url),
    );
    expect(await validate(text)).toMatch(/OK/);
    const hcm = at(parse(text), "static_resources", "listeners", 0, "filter_chains", 0, "filters", 0, "typed_config");
    const filters = at(hcm, "http_filters") as Json[];
    expect(filters.map((f) => f["name"])).toEqual([
      "envoy.filters.http.ext_authz",
      "envoy.filters.http.local_ratelimit",
      "envoy.filters.http.router",
    ]);
    expect(at(filters[0], "typed_config", "failure_mode_allow")).toBe(false);
    const action = at(filters[1], "typed_config", "rate_limits", 0, "actions", 0, "metadata");
    expect(at(action, "metadata_key")).toEqual({
      key: "envoy.filters.http.ext_authz",
      path: [{ key: "portcullis" }, { key: "sub" }],
    });
  });
});
