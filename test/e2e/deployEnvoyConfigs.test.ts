// deploy/docker/envoy.yaml, the compose stack's Envoy config, is accepted by the pinned Envoy
// (`--mode validate`, as envoy/ configs are in envoyConfigs.test.ts) and keeps the settings the
// Envoy–Portcullis contract depends on.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import type { DemoCertificate } from "../../src/demo/startEnvoy.ts";
import { envoyBinary } from "../../src/demo/startEnvoy.ts";

const run = promisify(execFile);
const FILE = new URL("../../deploy/docker/envoy.yaml", import.meta.url);
let dir: string;
let cert: DemoCertificate;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-deploy-envoy-"));
  cert = await ensureDemoCertificate(join(dir, "cert"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

type Json = Record<string, any>;

describe("deploy/docker/envoy.yaml", () => {
  it("is a valid Envoy config once the compose certificate paths point at real files", async () => {
    const text = (await readFile(FILE, "utf8"))
      .replace("/etc/envoy/tls/localhost.crt", cert.certFile)
      .replace("/etc/envoy/tls/localhost.key", cert.keyFile);
    expect(text).not.toContain("/etc/envoy/tls/");
    const file = join(dir, "envoy.yaml");
    await writeFile(file, text);
    const { stdout, stderr } = await run(envoyBinary(), ["--mode", "validate", "--disable-hot-restart", "-c", file], {
      timeout: 30_000,
    });
    expect(stdout + stderr).toMatch(/OK/);
  });

  it("fails closed, times ext_authz out, normalises paths and routes only /oauth2/ and the assertion keys past ext_authz", async () => {
    const config = parse(await readFile(FILE, "utf8")) as Json;
    const hcm = config["static_resources"].listeners[0].filter_chains[0].filters[0].typed_config;
    const extAuthz = hcm.http_filters[0].typed_config;
    expect(hcm.http_filters[0].name).toBe("envoy.filters.http.ext_authz");
    expect(extAuthz.failure_mode_allow).toBe(false);
    expect(extAuthz.grpc_service.timeout).toBe("1s");
    expect(hcm.normalize_path).toBe(true);
    expect(hcm.merge_slashes).toBe(true);
    expect(hcm.path_with_escaped_slashes_action).toBe("REJECT_REQUEST");
    expect(hcm.common_http_protocol_options.headers_with_underscores_action).toBe("REJECT_REQUEST");
    expect(hcm.xff_num_trusted_hops).toBe(0);
    const routes = hcm.route_config.virtual_hosts.flatMap((v: Json) => v["routes"]) as Json[];
    // Routes that forward without ext_authz (Envoy's own 400 answers forward nothing).
    const skipping = routes.filter(
      (r) =>
        r["route"] !== undefined && r["typed_per_filter_config"]?.["envoy.filters.http.ext_authz"]?.disabled === true,
    );
    // The assertion's public keys and discovery document by exact path; the login endpoints by prefix.
    expect(skipping.map((r) => [r["match"].prefix ?? r["match"].path, r["route"].cluster])).toEqual([
      ["/.well-known/jwks.json", "portcullis_auth"],
      ["/.well-known/openid-configuration", "portcullis_auth"],
      ["/oauth2/", "portcullis_auth"],
    ]);
  });
});
