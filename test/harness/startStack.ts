// The end-to-end stack on free loopback ports: dev IdP (in-process), echo upstream (in-process),
// Portcullis (child process, the real `serve` command) and Envoy (child process, the shipped
// envoy/demo.yaml template). Tests run side by side and next to a running demo without collisions.
// `close()` stops every part even when a start step failed half-way; children also die with the
// test process. Each stack keeps its files (TLS certificate, configs, logs) in its own temporary
// dir. Timeouts are wider than the demo's so a loaded 2-core CI machine does not turn into 503s.

import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createPublicKey } from "node:crypto";
import { importJWK, SignJWT } from "jose";
import type { JWTPayload, JWTHeaderParameters } from "jose";
import { stringify } from "yaml";
import { createSigningJwk } from "../../src/cli/demo/createSigningJwk.ts";
import type { SigningJwk } from "../../src/cli/demo/createSigningJwk.ts";
import { ensureDemoCertificate } from "../../src/cli/demo/ensureDemoCertificate.ts";
import { renderEnvoyConfig } from "../../src/cli/demo/renderEnvoyConfig.ts";
import { startDevIdp } from "../../src/cli/demo/startDevIdp.ts";
import type { DevIdp } from "../../src/cli/demo/startDevIdp.ts";
import { startEchoUpstream } from "../../src/cli/demo/startEchoUpstream.ts";
import type { EchoUpstream } from "../../src/cli/demo/startEchoUpstream.ts";
import { startEnvoy } from "../../src/cli/demo/startEnvoy.ts";
import type { RunningEnvoy } from "../../src/cli/demo/startEnvoy.ts";
import { httpsRequest } from "./httpsRequest.ts";
import type { HttpsResponse } from "./httpsRequest.ts";
import { readMetric } from "./readMetric.ts";
import { startPortcullisProcess } from "./startPortcullisProcess.ts";
import type { PortcullisProcess } from "./startPortcullisProcess.ts";
import type { ReservedPort } from "./reservePort.ts";
import { waitUntil } from "./waitUntil.ts";

export const TEST_AUDIENCE = "portcullis-e2e-api";
/** Envoy's wait for a Check answer: above the provider's jwksTimeoutMs, so Portcullis answers first. */
export const EXT_AUTHZ_TIMEOUT_MS = 6000;
const READY_TIMEOUT_MS = 30_000;

export interface StackOptions {
  /** Extra/overriding settings of the `demo` provider (e.g. jwksCooldownSeconds). */
  readonly provider?: Readonly<Record<string, unknown>>;
  /** The Portcullis routes; default: /api required and /public public, host localhost. */
  readonly routes?: readonly unknown[];
  /** Extra top-level Portcullis config keys (identity, tokenCache, ...). */
  readonly config?: Readonly<Record<string, unknown>>;
  /** The dev IdP port, released just before the IdP binds it; default ephemeral. */
  readonly idpPort?: ReservedPort;
}

export interface Stack {
  /** The Envoy HTTPS port on 127.0.0.1 (certificate for localhost). */
  readonly envoyPort: number;
  readonly envoyAdminUrl: string;
  readonly portcullisAdminUrl: string;
  readonly audience: string;
  readonly issuer: string;
  readonly upstream: EchoUpstream;
  readonly dir: string;
  /** Child process ids, so tests can check that nothing outlives the stack. */
  readonly pids: { readonly envoy: number; readonly portcullis: number };
  /** The current dev IdP (replaced by restartIdpWithNewKeys). */
  idp(): DevIdp;
  /** GET (or `method`) through Envoy; Host defaults to `localhost`, Accept to application/json. */
  request(path: string, init?: { method?: string; headers?: Record<string, string> }): Promise<HttpsResponse>;
  /** A client-credentials token from the real IdP token endpoint (sub = client_id = demo-cli). */
  clientCredentialsToken(scopes?: readonly string[]): Promise<string>;
  /** Signs a token with the IdP's current private key (or `key`); defaults: valid iss/aud/sub/iat/exp, typ at+jwt. */
  signToken(claims?: Record<string, unknown>, header?: Partial<JWTHeaderParameters>, key?: SigningJwk): Promise<string>;
  /** The IdP's current private signing key. */
  signingKey(): SigningJwk;
  /** The IdP's current public signing key as PEM (for algorithm-confusion forgeries). */
  publicKeyPem(): string;
  /** Restarts the IdP on the same port and issuer with a new signing key (the old one dropped). */
  restartIdpWithNewKeys(): Promise<void>;
  stopPortcullis(): Promise<number | null>;
  metrics(): Promise<string>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const dir = await mkdtemp(join(tmpdir(), "portcullis-e2e-"));
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    // Reverse start order: Envoy first, so nothing is proxied to a part that is going away.
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    if (process.env.PORTCULLIS_KEEP_E2E_LOGS === undefined) await rm(dir, { recursive: true, force: true });
  };

  try {
    let keys: SigningJwk[] = [await createSigningJwk()];
    await options.idpPort?.release();
    let idp = await startDevIdp({ signingKeys: keys, audience: TEST_AUDIENCE, port: options.idpPort?.port ?? 0 });
    const port = idp.port;
    const cliSecret = idp.cliClient.secret;
    cleanups.push(() => idp.close());

    const upstream = await startEchoUpstream();
    cleanups.push(() => upstream.close());

    // Per stack, not shared: concurrent workers would otherwise write one path at the same time.
    const cert = await ensureDemoCertificate(join(dir, "cert"));

    const configFile = join(dir, "portcullis.yaml");
    await writeFile(
      configFile,
      stringify({
        listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
        providers: {
          demo: {
            issuer: idp.issuer,
            audiences: [TEST_AUDIENCE],
            allowInsecureHttp: true,
            discoveryTimeoutMs: 10_000,
            jwksTimeoutMs: 5000,
            ...options.provider,
          },
        },
        routes: options.routes ?? [
          { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
          { name: "public", match: { host: "localhost", path: "/public" }, auth: "public" },
        ],
        log: { level: "info" },
        shutdown: { graceSeconds: 2 },
        ...options.config,
      }),
      { mode: 0o600 },
    );
    const portcullis: PortcullisProcess = await startPortcullisProcess(configFile, join(dir, "portcullis.log"));
    cleanups.push(() => portcullis.stop());
    const portcullisAdminUrl = `http://127.0.0.1:${portcullis.ports.admin}`;

    // "portcullis ready" means the listeners are bound; the provider's keys load in the background.
    // Until /readyz says 200 a valid token would be denied with 503, so wait for it here.
    const ready = await waitUntil(async () => {
      const res = await fetch(`${portcullisAdminUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    }, READY_TIMEOUT_MS);
    if (!ready) {
      const tail = (await readFile(portcullis.logFile, "utf8").catch(() => "")).trim().split("\n").slice(-15).join("\n");
      throw new Error(`Portcullis /readyz did not answer 200 within ${READY_TIMEOUT_MS} ms\n--- portcullis log (${portcullis.logFile}) ---\n${tail}`);
    }

    const envoy: RunningEnvoy = await startEnvoy({
      config: await renderEnvoyConfig({
        adminPort: 0,
        listenAddress: "127.0.0.1",
        listenPort: 0,
        tlsCertFile: cert.certFile,
        tlsKeyFile: cert.keyFile,
        extAuthzPort: portcullis.ports.grpc,
        authPort: portcullis.ports.auth,
        upstreamPort: upstream.port,
        extAuthzTimeoutMs: EXT_AUTHZ_TIMEOUT_MS,
      }),
      logFile: join(dir, "envoy.log"),
    });
    cleanups.push(() => envoy.stop());
    const envoyPort = envoy.listenerPorts.https;
    if (envoyPort === undefined) throw new Error("Envoy has no https listener");

    const metrics = async () => {
      const res = await fetch(`${portcullisAdminUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) throw new Error(`Portcullis /metrics answered ${res.status}`);
      return res.text();
    };

    return {
      envoyPort,
      envoyAdminUrl: envoy.adminUrl,
      portcullisAdminUrl,
      audience: TEST_AUDIENCE,
      issuer: idp.issuer,
      upstream,
      dir,
      pids: { envoy: envoy.pid, portcullis: portcullis.pid },
      idp: () => idp,
      request: (path, init = {}) =>
        httpsRequest({ port: envoyPort, path, ca: cert.certPem, method: init.method, headers: init.headers }),
      clientCredentialsToken: (scopes) => idp.clientCredentialsToken(scopes),
      signingKey: () => keys[0] as SigningJwk,
      async signToken(claims = {}, header = {}, key = keys[0] as SigningJwk) {
        const now = Math.floor(Date.now() / 1000);
        const payload: JWTPayload = {
          iss: idp.issuer,
          aud: TEST_AUDIENCE,
          sub: "forged-by-test",
          client_id: "e2e",
          scope: "api.read",
          iat: now,
          exp: now + 300,
          jti: crypto.randomUUID(),
        };
        for (const [name, value] of Object.entries(claims)) {
          if (value === undefined) delete payload[name];
          else payload[name] = value;
        }
        return new SignJWT(payload)
          .setProtectedHeader({ alg: "RS256", typ: "at+jwt", kid: key.kid, ...header } as JWTHeaderParameters)
          .sign(await importJWK(key, "RS256"));
      },
      publicKeyPem() {
        const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = keys[0] as SigningJwk;
        return createPublicKey({ key: publicJwk as import("node:crypto").JsonWebKey, format: "jwk" })
          .export({ type: "spki", format: "pem" })
          .toString();
      },
      async restartIdpWithNewKeys() {
        await idp.close();
        keys = [await createSigningJwk()];
        idp = await startDevIdp({ signingKeys: keys, audience: TEST_AUDIENCE, port, cliClientSecret: cliSecret });
      },
      stopPortcullis: () => portcullis.stop(),
      metrics,
      metric: async (name, labels) => readMetric(await metrics(), name, labels),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
