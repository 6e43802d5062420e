// The chart's sidecar pod run on loopback, as its containers share a network namespace in
// Kubernetes: `helm template` of a complete values file in sidecar mode (ports moved to free ones, a
// provider of the user's own and nothing of the chart's), Portcullis started on
// the ConfigMap's config with the Secret's variables, the pinned Envoy on the rendered Envoy
// config, the echo app on the app container's port, the dev IdP as the provider. The kubelet's
// probes answer; requests through Envoy reach the app only when Portcullis allows them, with its
// identity headers; /oauth2/* reaches Portcullis; with Portcullis gone Envoy fails closed.
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
import { startDevIdp, type DevIdp } from "../../src/demo/startDevIdp.ts";
import { startEchoUpstream, type EchoUpstream } from "../../src/demo/startEchoUpstream.ts";
import { startEnvoy, type RunningEnvoy } from "../../src/demo/startEnvoy.ts";
import { reservePort, type ReservedPort } from "../harness/reservePort.ts";
import { startPortcullisProcess, type PortcullisProcess } from "../harness/startPortcullisProcess.ts";
import { waitUntil } from "../harness/waitUntil.ts";

type Json = Record<string, any>;
const ROOT = new URL("../../", import.meta.url).pathname;
const AUDIENCE = "portcullis-helm-api";

let dir: string;
let idp: DevIdp;
let app: EchoUpstream;
let portcullis: PortcullisProcess | undefined;
let envoy: RunningEnvoy;
let pod: { envoyPort: number; healthPort: number; adminPort: number; probes: Json };
let renderedProviders: string[];

function helmBin(): string {
  const bin = process.env["HELM_BIN"];
  if (bin === undefined || bin === "")
    throw new Error("HELM_BIN is not set: run the suite with bin/test, which provisions it");
  return bin;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-helm-pod-"));
  idp = await startDevIdp({ signingKeys: [await createSigningJwk()], audience: AUDIENCE });
  const ports: Record<string, ReservedPort> = {};
  for (const name of ["grpc", "auth", "admin", "app", "envoy", "health", "envoyAdmin"])
    ports[name] = await reservePort();
  const port = (name: string) => (ports[name] as ReservedPort).port;
  // A complete values file of the user's own, its provider not named `main`: the chart adds no
  // provider of its own (one whose IdP never answers would keep /readyz at 503 forever).
  const values = {
    mode: "sidecar",
    ports: { grpc: port("grpc"), auth: port("auth"), admin: port("admin") },
    secretEnv: { PORTCULLIS_CLIENT_SECRET: "client-secret", PORTCULLIS_SESSION_KEY: "session-key" },
    config: {
      providers: {
        corp: {
          issuer: idp.issuer,
          audiences: [AUDIENCE],
          allowInsecureHttp: true,
          clientId: idp.webClient.id,
          clientSecret: "${PORTCULLIS_CLIENT_SECRET}",
          scopes: ["openid", "profile", "email"],
          redirectUri: "https://app.example.com/oauth2/callback",
        },
      },
      session: { keys: ["${PORTCULLIS_SESSION_KEY}"] },
      routes: [
        { name: "health", match: { pathExact: "/healthz" }, auth: "public" },
        { name: "api", match: { path: "/api" }, auth: "required" },
        { name: "default", match: { path: "/" }, auth: "required" },
      ],
      shutdown: { graceSeconds: 2 },
    },
    sidecar: {
      app: { port: port("app") },
      envoy: { port: port("envoy"), healthPort: port("health"), adminPort: port("envoyAdmin") },
    },
  };
  await writeFile(join(dir, "values.yaml"), stringify(values));
  const { stdout } = await promisify(execFile)(
    helmBin(),
    ["template", "shop", "deploy/helm/portcullis", "-f", join(dir, "values.yaml")],
    { cwd: ROOT, timeout: 60_000 },
  );
  const objects = parseAllDocuments(stdout)
    .map((d) => d.toJS() as Json)
    .filter((o) => o !== null);
  const configMap = (name: string) =>
    objects.find((o) => o["kind"] === "ConfigMap" && o["metadata"].name === name)?.["data"] as Record<string, string>;
  renderedProviders = Object.keys((parse(configMap("shop-portcullis")["config.yaml"] as string) as Json)["providers"]);
  const containers = (objects.find((o) => o["kind"] === "Deployment") as Json)["spec"].template.spec
    .containers as Json[];
  const portcullisContainer = containers.find((c) => c["name"] === "portcullis") as Json;
  pod = {
    envoyPort: port("envoy"),
    healthPort: port("health"),
    adminPort: port("admin"),
    probes: { portcullis: portcullisContainer, envoy: containers.find((c) => c["name"] === "envoy") },
  };

  await ports["app"]?.release();
  app = await startEchoUpstream({ port: port("app") });

  // The Secret's variables, as secretKeyRef would set them; plain values (NODE_OPTIONS) as they are.
  const secrets: Record<string, string> = {
    "client-secret": idp.webClient.secret,
    "session-key": randomBytes(32).toString("base64url"),
  };
  for (const e of portcullisContainer["env"] as Json[])
    process.env[e["name"]] = e["value"] ?? secrets[e["valueFrom"].secretKeyRef.key];
  const configFile = join(dir, "config.yaml");
  await writeFile(configFile, configMap("shop-portcullis")["config.yaml"] as string);
  for (const name of ["grpc", "auth", "admin"]) await ports[name]?.release();
  portcullis = await startPortcullisProcess(configFile, join(dir, "portcullis.log"));

  for (const name of ["envoy", "health", "envoyAdmin"]) await ports[name]?.release();
  envoy = await startEnvoy({
    config: configMap("shop-portcullis-envoy")["envoy.yaml"] as string,
    logFile: join(dir, "envoy.log"),
  });
  const ready = await waitUntil(
    async () => (await probe(portcullisContainer["readinessProbe"], pod.adminPort)) === 200,
    30_000,
  );
  if (!ready) throw new Error("Portcullis's readiness probe never answered 200");
});

afterAll(async () => {
  await envoy?.stop();
  await portcullis?.stop();
  await app?.close();
  await idp?.close();
  await rm(dir, { recursive: true, force: true });
});

/** What the kubelet does with an httpGet probe: GET the path on the pod, here its loopback. */
async function probe(spec: Json, port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}${spec["httpGet"].path}`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status;
}

async function throughEnvoy(path: string, headers: Record<string, string> = {}) {
  const marker = randomUUID();
  const res = await fetch(`http://127.0.0.1:${pod.envoyPort}${path}`, {
    headers: { "x-test-marker": marker, ...headers },
    redirect: "manual",
    signal: AbortSignal.timeout(10_000),
  });
  const body = await res.text();
  const seen = app.requests().find((r) => r.headers["x-test-marker"] === marker);
  return { status: res.status, headers: res.headers, body, seen };
}

describe("the sidecar pod", () => {
  it("runs the user's provider alone and becomes ready on it", async () => {
    expect(renderedProviders).toEqual(["corp"]);
    expect(await probe(pod.probes["portcullis"].readinessProbe, pod.adminPort)).toBe(200);
  });

  it("answers the kubelet's probes: Portcullis on the admin port, Envoy on its health port, nothing else there", async () => {
    expect(await probe(pod.probes["portcullis"].livenessProbe, pod.adminPort)).toBe(200);
    expect(await probe(pod.probes["portcullis"].readinessProbe, pod.adminPort)).toBe(200);
    expect(await probe(pod.probes["envoy"].readinessProbe, pod.healthPort)).toBe(200);
    expect(await probe({ httpGet: { path: "/config_dump" } }, pod.healthPort)).toBe(404);
  });

  it("lets a public route through to the app without identity headers", async () => {
    const res = await throughEnvoy("/healthz", { "x-user-sub": "attacker" });
    expect(res.status).toBe(200);
    expect(res.seen?.path).toBe("/healthz");
    expect(res.seen?.headers["x-user-sub"]).toBeUndefined();
  });

  it("refuses a request without a token with 401 and a Bearer challenge, before the app", async () => {
    const res = await throughEnvoy("/api/items");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer\b/);
    expect(res.seen).toBeUndefined();
  });

  it("forwards a valid token's request to the app with Portcullis's identity headers, forged ones removed", async () => {
    const token = await idp.clientCredentialsToken();
    const res = await throughEnvoy("/api/items", { authorization: `Bearer ${token}`, "x-user-sub": "attacker" });
    expect(res.status).toBe(200);
    expect(res.seen?.headers["x-client-id"]).toBe(idp.cliClient.id);
    expect(res.seen?.headers["x-user-sub"]).toBeUndefined();
    expect(res.seen?.headers["authorization"]).toBeUndefined();
  });

  it("routes /oauth2/* to Portcullis's auth listener, never to the app", async () => {
    const res = await throughEnvoy("/oauth2/callback?code=x&state=y");
    expect(res.seen).toBeUndefined();
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it("fails closed once Portcullis is gone: 503 from Envoy, nothing reaches the app", async () => {
    expect(await portcullis?.stop()).toBe(0);
    portcullis = undefined;
    const token = await idp.clientCredentialsToken();
    const res = await throughEnvoy("/api/items", { authorization: `Bearer ${token}` });
    expect(res.status).toBe(503);
    expect(res.seen).toBeUndefined();
  });
});
