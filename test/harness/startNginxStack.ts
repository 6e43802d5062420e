// The forward-auth stack on free loopback ports: dev IdP and echo upstream (in-process), Portcullis
// (the real `serve`, forwardAuth on) and Debian's nginx serving the shipped
// examples/nginx/portcullis.conf, with only its marked values (listener, certificate, Portcullis
// and application addresses) changed. The browser's origin is nginx's https://localhost:<port>,
// where the login callback comes back to. `close()` stops every part, nginx first.
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import { startDevIdp, createSigningJwk, type DevIdp } from "../../src/demo/startDevIdp.ts";
import { startEchoUpstream, type EchoUpstream } from "../../src/demo/startEchoUpstream.ts";
import { createTempScope } from "./createTempScope.ts";
import { httpsRequest, type HttpsResponse } from "./httpsRequest.ts";
import { startNginx } from "./startNginx.ts";
import { REPO_ROOT, startPortcullisProcess } from "./startPortcullisProcess.ts";
import { reservePort } from "./reservePort.ts";
import { LOGIN_ROUTES, LOGIN_SCOPES, TEST_AUDIENCE } from "./startStack.ts";
import { waitUntil } from "./waitUntil.ts";

export const NGINX_EXAMPLE = join(REPO_ROOT, "examples/nginx/portcullis.conf");

export interface NginxStack {
  /** `https://localhost:<nginx port>`. */
  readonly origin: string;
  readonly nginxPort: number;
  readonly ca: string;
  readonly upstream: EchoUpstream;
  readonly idp: DevIdp;
  /** GET (or `method`) through nginx with exactly these headers. */
  request(path: string, init?: { method?: string; headers?: Record<string, string> }): Promise<HttpsResponse>;
  close(): Promise<void>;
}

/** The example with its marked values replaced; a value no longer in the example fails loudly. */
export function renderNginxExample(
  example: string,
  values: { listen: string; certFile: string; keyFile: string; authPort: number; upstreamPort: number },
): string {
  const replacements: Array<[string, string]> = [
    ["listen 443 ssl;", `listen ${values.listen} ssl;`],
    ["/etc/nginx/tls/app.example.com.crt", values.certFile],
    ["/etc/nginx/tls/app.example.com.key", values.keyFile],
    ["server 127.0.0.1:8181;", `server 127.0.0.1:${values.authPort};`],
    ["server 127.0.0.1:8080;", `server 127.0.0.1:${values.upstreamPort};`],
  ];
  let site = example;
  for (const [from, to] of replacements) {
    if (!site.includes(from)) throw new Error(`examples/nginx/portcullis.conf no longer has "${from}"`);
    site = site.replace(from, to);
  }
  return site;
}

export async function startNginxStack(): Promise<NginxStack> {
  const scope = await createTempScope("portcullis-nginx-");
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
        forwardAuth: { enabled: true },
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
    const site = renderNginxExample(await readFile(NGINX_EXAMPLE, "utf8"), {
      listen: `127.0.0.1:${reserved.port}`,
      certFile: cert.certFile,
      keyFile: cert.keyFile,
      authPort: portcullis.ports.auth,
      upstreamPort: upstream.port,
    });
    await reserved.release();
    const nginx = await startNginx(dir, site, reserved.port);
    scope.defer(() => nginx.stop());
    return {
      origin,
      nginxPort: reserved.port,
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
