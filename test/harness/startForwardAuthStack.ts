// The forward-auth stack on free loopback ports, whatever the front proxy: dev IdP and echo
// upstream (in-process), Portcullis (the real `serve`, forwardAuth on with the caller's settings)
// and the proxy the caller starts (nginx, Caddy, Envoy) on a reserved port with its own config.
// The browser's origin is the proxy's https://localhost:<port>, where the login callback comes
// back to. `close()` stops every part, the proxy first.
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import { startDevIdp, createSigningJwk, type DevIdp } from "../../src/demo/startDevIdp.ts";
import { startEchoUpstream, type EchoUpstream } from "../../src/demo/startEchoUpstream.ts";
import { createTempScope } from "./createTempScope.ts";
import { httpsRequest, type HttpsResponse } from "./httpsRequest.ts";
import { startPortcullisProcess } from "./startPortcullisProcess.ts";
import { reservePort } from "./reservePort.ts";
import { LOGIN_ROUTES, LOGIN_SCOPES, TEST_AUDIENCE } from "./startStack.ts";
import { waitUntil } from "./waitUntil.ts";

export interface ForwardAuthStack {
  /** `https://localhost:<proxy port>`. */
  readonly origin: string;
  readonly proxyPort: number;
  /** Portcullis's auth listener (where the forward-auth endpoint is), on 127.0.0.1. */
  readonly authPort: number;
  readonly ca: string;
  readonly upstream: EchoUpstream;
  readonly idp: DevIdp;
  /** GET (or `method`) through the proxy with exactly these headers. */
  request(path: string, init?: { method?: string; headers?: Record<string, string> }): Promise<HttpsResponse>;
  close(): Promise<void>;
}

/** What the proxy is started with: its own directory, port and certificate, and whom it fronts. */
export interface FrontProxyStart {
  readonly dir: string;
  /** Released just before the call: bind it at once. */
  readonly port: number;
  readonly certFile: string;
  readonly keyFile: string;
  readonly authPort: number;
  readonly upstreamPort: number;
}

export async function startForwardAuthStack(options: {
  /** The temporary directory's prefix, e.g. "portcullis-caddy-". */
  readonly prefix: string;
  /** The `forwardAuth` section (enabled: true is added). */
  readonly forwardAuth: Readonly<Record<string, unknown>>;
  readonly startProxy: (start: FrontProxyStart) => Promise<{ stop(): Promise<void> }>;
}): Promise<ForwardAuthStack> {
  const scope = await createTempScope(options.prefix);
  const { dir, close } = scope;
  try {
    const reserved = await reservePort();
    scope.defer(() => reserved.release());
    const origin = `https://localhost:${reserved.port}`;
    const idp = await startDevIdp({
      audience: TEST_AUDIENCE,
      signingKeys: [await createSigningJwk()],
      port: 0,
      webRedirectUris: [`${origin}/oauth2/callback`],
      webPostLogoutRedirectUris: [`${origin}/`],
    });
    scope.defer(() => idp.close());
    const upstream = await startEchoUpstream();
    scope.defer(() => upstream.close());
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
            clientId: idp.webClient.id,
            clientSecret: idp.webClient.secret,
            scopes: [...LOGIN_SCOPES],
            redirectUri: `${origin}/oauth2/callback`,
          },
        },
        session: { keys: [randomBytes(32).toString("base64url")] },
        routes: LOGIN_ROUTES,
        forwardAuth: { ...options.forwardAuth, enabled: true },
        log: { level: "info" },
        shutdown: { graceSeconds: 2, drainSeconds: 0 },
      }),
      { mode: 0o600 },
    );
    const portcullis = await startPortcullisProcess(configFile, join(dir, "portcullis.log"));
    scope.defer(() => portcullis.stop());
    const ready = await waitUntil(async () => {
      const res = await fetch(`http://127.0.0.1:${portcullis.ports.admin}/readyz`, {
        signal: AbortSignal.timeout(2000),
      });
      await res.arrayBuffer();
      return res.status === 200;
    }, 30_000);
    if (!ready) throw new Error(`Portcullis did not get ready; log in ${portcullis.logFile}`);
    await reserved.release();
    const proxy = await options.startProxy({
      dir,
      port: reserved.port,
      certFile: cert.certFile,
      keyFile: cert.keyFile,
      authPort: portcullis.ports.auth,
      upstreamPort: upstream.port,
    });
    scope.defer(() => proxy.stop());
    return {
      origin,
      proxyPort: reserved.port,
      authPort: portcullis.ports.auth,
      ca: cert.certPem,
      upstream,
      idp,
      request: (path, init = {}) =>
        httpsRequest({
          port: reserved.port,
          path,
          ca: cert.certPem,
          method: init.method,
          headers: { host: `localhost:${reserved.port}`, ...init.headers },
        }),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
