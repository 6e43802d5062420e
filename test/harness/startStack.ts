// The end-to-end stack on free loopback ports: dev IdP (in-process), echo upstream (in-process),
// Portcullis (child process, the real `serve` command) and Envoy (child process, the shipped
// envoy/demo.yaml template). Tests run side by side and next to a running demo without collisions.
// `close()` stops every part even when a start step failed half-way; children also die with the
// test process. Each stack keeps its files (TLS certificate, configs, logs) in its own temporary
// dir. Timeouts are wider than the demo's so a loaded 2-core CI machine does not turn into 503s.
// With `login: true` the Envoy port is reserved first, so the browser client's redirect URI
// (https://localhost:<port>/oauth2/callback) is known to the IdP and to Portcullis before either starts.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createPublicKey, randomBytes } from "node:crypto";
import { importJWK, SignJWT } from "jose";
import type { JWTPayload, JWTHeaderParameters } from "jose";
import { stringify } from "yaml";
import { envoyAllowedHeaders } from "../../src/app/envoyAllowedHeaders.ts";
import { loadCheckedConfig } from "../../src/app/loadCheckedConfig.ts";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
import type { SigningJwk } from "../../src/demo/startDevIdp.ts";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import { renderEnvoyConfig } from "../../src/demo/startEnvoy.ts";
import { startDevIdp } from "../../src/demo/startDevIdp.ts";
import type { DevIdp, DevIdpOptions } from "../../src/demo/startDevIdp.ts";
import { startEchoUpstream } from "../../src/demo/startEchoUpstream.ts";
import type { EchoUpstream } from "../../src/demo/startEchoUpstream.ts";
import { startEnvoy } from "../../src/demo/startEnvoy.ts";
import type { RunningEnvoy } from "../../src/demo/startEnvoy.ts";
import { createTempScope } from "./createTempScope.ts";
import { httpsRequest } from "./httpsRequest.ts";
import type { HttpsResponse } from "./httpsRequest.ts";
import { readMetric } from "./readMetric.ts";
import { startPortcullisProcess } from "./startPortcullisProcess.ts";
import type { PortcullisProcess } from "./startPortcullisProcess.ts";
import { reservePort } from "./reservePort.ts";
import type { ReservedPort } from "./reservePort.ts";
import { waitUntil } from "./waitUntil.ts";

export const TEST_AUDIENCE = "portcullis-e2e-api";
/** Envoy's wait for a Check answer: above the provider's jwksTimeoutMs, so Portcullis answers first. */
export const EXT_AUTHZ_TIMEOUT_MS = 6000;
/** Scopes Portcullis asks for at a browser login in the stack (offline_access: a refresh token). */
export const LOGIN_SCOPES = ["openid", "profile", "email", "offline_access", "api.read"] as const;
/** Routes of a login stack unless `routes` is given: like the demo's, without host restrictions. */
export const LOGIN_ROUTES: readonly unknown[] = [
  { name: "public", match: { path: "/public" }, auth: "public" },
  { name: "api", match: { path: "/api" }, auth: "required", require: { scopes: ["api.read"] } },
  { name: "secure", match: { path: "/secure" }, auth: "required", require: { acr: ["urn:portcullis:loa:2"] } },
  { name: "default", match: { path: "/" }, auth: "required" },
];
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
  /**
   * Browser login: the `demo` provider gets the dev IdP's web client (secret, LOGIN_SCOPES,
   * redirectUri on the Envoy origin), the IdP registers that callback and `<origin>/` for
   * post-logout, and `session.keys` gets a fresh random key. Default routes become LOGIN_ROUTES.
   */
  readonly login?: boolean;
  /** Extra/overriding `session` settings (with `login`), e.g. refreshWindowSeconds. */
  readonly session?: Readonly<Record<string, unknown>>;
  /** Token lifetimes of the dev IdP (e.g. a short access-token TTL to make sessions refresh). */
  readonly idp?: Pick<
    DevIdpOptions,
    "accessTokenTtlSeconds" | "idTokenTtlSeconds" | "refreshTokenTtlSeconds" | "exchangeClientSecret"
  >;
  /**
   * Envoy's upstream is this port on 127.0.0.1 (a server the test runs, e.g. a real Express app)
   * instead of the echo upstream's; the echo still runs, so `upstream` stays usable.
   */
  readonly upstreamPort?: number;
  /**
   * Rewrites the rendered (shipped) Envoy config before Envoy starts, e.g. to drop one of its
   * settings and show that Portcullis holds on its own where that setting is missing.
   */
  readonly envoyConfig?: (rendered: string) => string;
  /** Another shipped Envoy template with envoy/demo.yaml's placeholders (e.g. envoy/per-user-rate-limit.yaml). */
  readonly envoyTemplate?: URL;
  /** `serve --watch`: reload when the config file or a file it reads changes. */
  readonly watch?: boolean;
  /** More `serve` arguments, e.g. `--watch` or `--workers 2`. */
  readonly serveArgs?: readonly string[];
  /** How Portcullis is started, up to `serve` (e.g. an installed npm package's bin); default the checkout's sources. */
  readonly portcullisCommand?: readonly string[];
  /** Added to Portcullis's environment (e.g. the PATH an installed package's bin finds its Node on). */
  readonly portcullisEnv?: Readonly<Record<string, string>>;
}

export interface Stack {
  /** The Envoy HTTPS port on 127.0.0.1 (certificate for localhost). */
  readonly envoyPort: number;
  /** Every Envoy listener's port by name (`https`, and those an `envoyConfig` rewrite adds, e.g. `mtls`). */
  readonly envoyListenerPorts: Readonly<Record<string, number>>;
  /** `https://localhost:<envoyPort>`: the browser's origin (and, with `login`, the redirect URI's). */
  readonly origin: string;
  /** The stack's self-signed certificate (PEM), trusted by `request`. */
  readonly ca: string;
  readonly envoyAdminUrl: string;
  readonly portcullisAdminUrl: string;
  /** Portcullis's ext_authz gRPC port, to ask it directly what Envoy did not pass on. */
  readonly portcullisGrpcPort: number;
  /** Portcullis's auth listener, `http://127.0.0.1:<port>`, as a service inside the network reaches it. */
  readonly portcullisAuthUrl: string;
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
  // Cleanups run in reverse start order: Envoy first, so nothing is proxied to a part that is going away.
  const scope = await createTempScope("portcullis-e2e-");
  const { dir, close } = scope;

  try {
    // The browser's origin must be known before the IdP registers its callback: hold the port.
    const envoyReserved = options.login === true ? await reservePort() : null;
    if (envoyReserved !== null) scope.defer(() => envoyReserved.release());
    const origin = envoyReserved === null ? null : `https://localhost:${envoyReserved.port}`;
    let keys: SigningJwk[] = [await createSigningJwk()];
    await options.idpPort?.release();
    const idpOptions: Omit<DevIdpOptions, "signingKeys"> = {
      audience: TEST_AUDIENCE,
      ...options.idp,
      ...(origin === null
        ? {}
        : { webRedirectUris: [`${origin}/oauth2/callback`], webPostLogoutRedirectUris: [`${origin}/`] }),
    };
    let idp = await startDevIdp({ ...idpOptions, signingKeys: keys, port: options.idpPort?.port ?? 0 });
    const port = idp.port;
    const cliSecret = idp.cliClient.secret;
    const webSecret = idp.webClient.secret;
    scope.defer(() => idp.close());

    const upstream = await startEchoUpstream();
    scope.defer(() => upstream.close());

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
            ...(origin === null
              ? {}
              : {
                  clientId: idp.webClient.id,
                  clientSecret: webSecret,
                  scopes: [...LOGIN_SCOPES],
                  redirectUri: `${origin}/oauth2/callback`,
                }),
            ...options.provider,
          },
        },
        ...(origin === null ? {} : { session: { keys: [randomBytes(32).toString("base64url")], ...options.session } }),
        routes:
          options.routes ??
          (origin !== null
            ? LOGIN_ROUTES
            : [
                { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
                { name: "public", match: { host: "localhost", path: "/public" }, auth: "public" },
              ]),
        log: { level: "info" },
        // One replica per stack: no drain (the replica tests run the default one).
        shutdown: { graceSeconds: 2, drainSeconds: 0 },
        ...options.config,
      }),
      { mode: 0o600 },
    );
    const portcullis: PortcullisProcess = await startPortcullisProcess(
      configFile,
      join(dir, "portcullis.log"),
      undefined,
      options.portcullisEnv ?? {},
      [...(options.watch === true ? ["--watch"] : []), ...(options.serveArgs ?? [])],
      options.portcullisCommand,
    );
    scope.defer(() => portcullis.stop());
    const portcullisAdminUrl = `http://127.0.0.1:${portcullis.ports.admin}`;

    // "portcullis ready" means the listeners are bound; the provider's keys load in the background.
    // Until /readyz says 200 a valid token would be denied with 503, so wait for it here.
    const ready = await waitUntil(async () => {
      const res = await fetch(`${portcullisAdminUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    }, READY_TIMEOUT_MS);
    if (!ready) {
      const tail = (await readFile(portcullis.logFile, "utf8").catch(() => ""))
        .trim()
        .split("\n")
        .slice(-15)
        .join("\n");
      throw new Error(
        `Portcullis /readyz did not answer 200 within ${READY_TIMEOUT_MS} ms\n--- portcullis log (${portcullis.logFile}) ---\n${tail}`,
      );
    }

    const renderedEnvoyConfig = await renderEnvoyConfig(
      {
        adminPort: 0,
        listenAddress: "127.0.0.1",
        listenPort: envoyReserved?.port ?? 0,
        tlsCertFile: cert.certFile,
        tlsKeyFile: cert.keyFile,
        extAuthzPort: portcullis.ports.grpc,
        authPort: portcullis.ports.auth,
        upstreamPort: options.upstreamPort ?? upstream.port,
        extAuthzTimeoutMs: EXT_AUTHZ_TIMEOUT_MS,
        // As a deployment would: the headers this stack's own config reads, nothing else.
        allowedHeaders: allowedHeadersOf(configFile),
      },
      options.envoyTemplate,
    );
    const envoyConfig =
      options.envoyConfig === undefined ? renderedEnvoyConfig : options.envoyConfig(renderedEnvoyConfig);
    // Released at the last moment, so no other worker is handed the port in between.
    await envoyReserved?.release();
    const envoy: RunningEnvoy = await startEnvoy({ config: envoyConfig, logFile: join(dir, "envoy.log") });
    scope.defer(() => envoy.stop());
    const envoyPort = envoy.listenerPorts.https;
    if (envoyPort === undefined) throw new Error("Envoy has no https listener");

    const metrics = async () => {
      const res = await fetch(`${portcullisAdminUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
      if (res.status !== 200) throw new Error(`Portcullis /metrics answered ${res.status}`);
      return res.text();
    };

    return {
      envoyPort,
      envoyListenerPorts: envoy.listenerPorts,
      origin: origin ?? `https://localhost:${envoyPort}`,
      ca: cert.certPem,
      envoyAdminUrl: envoy.adminUrl,
      portcullisAdminUrl,
      portcullisGrpcPort: portcullis.ports.grpc,
      portcullisAuthUrl: `http://127.0.0.1:${portcullis.ports.auth}`,
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
        idp = await startDevIdp({
          ...idpOptions,
          signingKeys: keys,
          port,
          cliClientSecret: cliSecret,
          webClientSecret: webSecret,
        });
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

/** The ext_authz allowed_headers for the config file Portcullis was started with (it parsed, so this does). */
function allowedHeadersOf(configFile: string): string[] {
  const loaded = loadCheckedConfig(configFile, { ...process.env, NODE_ENV: "test" });
  if (!loaded.ok) throw new Error(`${configFile}: ${JSON.stringify(loaded.problems)}`);
  return envoyAllowedHeaders(loaded.config).map((h) => h.name);
}
