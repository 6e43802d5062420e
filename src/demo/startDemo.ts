// Starts the whole demo on loopback: dev IdP, echo upstream, Portcullis (in-process, the same
// startServer as `serve`), and Envoy (child) terminating TLS with a locally made certificate.
// Ports are fixed for the demo (the README's commands use them) and overridable for tests.

import { createServer } from "node:net";
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { pino } from "pino";
import { parseConfig } from "../config/parseConfig.ts";
import { formatIssue } from "../config/ConfigIssue.ts";
import { createLogger } from "../observability/createLogger.ts";
import { startServer } from "../app/startServer.ts";
import { createSigningJwk } from "./createSigningJwk.ts";
import { demoConfig } from "./demoConfig.ts";
import { ensureDemoCertificate } from "./ensureDemoCertificate.ts";
import { renderEnvoyConfig } from "./renderEnvoyConfig.ts";
import { removeDemoState, writeDemoState } from "./demoState.ts";
import {
  DEMO_BATCH_CLIENT_ID,
  DEMO_CLIENT_ID,
  DEMO_WEB_CLIENT_ID,
  MINT_USER_TOKEN_PATH,
  startDevIdp,
} from "./startDevIdp.ts";
import { startEchoUpstream } from "./startEchoUpstream.ts";
import { startEnvoy } from "./startEnvoy.ts";

export interface DemoPorts {
  readonly https: number;
  readonly idp: number;
  readonly upstream: number;
  readonly grpc: number;
  readonly auth: number;
  readonly admin: number;
}

export const DEFAULT_DEMO_PORTS: DemoPorts = {
  https: 8443,
  idp: 9400,
  upstream: 9480,
  grpc: 9191,
  auth: 8181,
  admin: 9464,
};

export interface DemoOptions {
  readonly dir: string;
  readonly ports?: Partial<DemoPorts>;
}

export interface RunningDemo {
  readonly entryUrl: string;
  readonly adminUrl: string;
  readonly issuer: string;
  readonly dir: string;
  /** Resolves when Envoy exits on its own (a crash): the demo is then no longer usable. */
  readonly envoyExited: Promise<void>;
  stop(): Promise<void>;
}

export class PortInUseError extends Error {
  readonly port: number;
  constructor(name: string, port: number) {
    super(`port 127.0.0.1:${port} (${name}) is already in use — is another demo running? Stop it or free the port.`);
    this.port = port;
  }
}

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const ports: DemoPorts = { ...DEFAULT_DEMO_PORTS, ...options.ports };
  for (const [name, port] of Object.entries(ports)) {
    if (port !== 0 && !(await isPortFree(port))) throw new PortInUseError(name, port);
  }
  await mkdir(options.dir, { recursive: true, mode: 0o700 });

  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const mintSecret = randomBytes(32).toString("base64url");
    const entryHost = ports.https === 0 ? undefined : `https://localhost:${ports.https}`;
    const idp = await startDevIdp({
      signingKeys: [await createSigningJwk()],
      port: ports.idp,
      mintSecret,
      // With an ephemeral HTTPS port (tests) the IdP keeps its default localhost:8443 URIs.
      ...(entryHost === undefined
        ? {}
        : { webRedirectUris: [`${entryHost}/oauth2/callback`], webPostLogoutRedirectUris: [`${entryHost}/`] }),
      // Signing out at the IdP ends the Portcullis session too: the IdP posts its logout token
      // straight to the auth listener (IdP and Portcullis share the machine).
      ...(ports.auth === 0
        ? {}
        : { webBackchannelLogoutUri: `http://127.0.0.1:${ports.auth}/oauth2/backchannel_logout` }),
    });
    stops.push(() => idp.close());
    const upstream = await startEchoUpstream({ port: ports.upstream });
    stops.push(() => upstream.close());

    const parsed = parseConfig(
      demoConfig({
        issuer: idp.issuer,
        audience: idp.audience,
        webClient: idp.webClient,
        machineClientId: DEMO_BATCH_CLIENT_ID,
        entryOrigin: entryHost ?? "https://localhost:8443",
        sessionKey: randomBytes(32).toString("base64url"),
        ports,
      }),
    );
    if (!parsed.ok) throw new Error(`demo config rejected: ${parsed.problems.map(formatIssue).join("; ")}`);
    // Portcullis logs go to a file so that the terminal shows only what the user needs.
    const logDestination = pino.destination({ dest: join(options.dir, "portcullis.log"), mkdir: true, sync: false });
    const server = await startServer(parsed.config, { logger: createLogger(parsed.config.log.level, logDestination) });
    stops.push(async () => {
      await server.stop();
      logDestination.flushSync();
    });

    // Envoy opens the door only once Portcullis can decide: a first request must not meet a 503
    // because the IdP's keys are still loading.
    await waitForReady(`http://127.0.0.1:${server.ports.admin}/readyz`, 30_000);

    const cert = await ensureDemoCertificate(options.dir);
    const envoy = await startEnvoy({
      config: await renderEnvoyConfig({
        adminPort: 0,
        listenAddress: "127.0.0.1",
        listenPort: ports.https,
        tlsCertFile: cert.certFile,
        tlsKeyFile: cert.keyFile,
        extAuthzPort: server.ports.grpc,
        authPort: server.ports.auth,
        upstreamPort: upstream.port,
      }),
      logFile: join(options.dir, "envoy.log"),
      concurrency: 2,
    });
    stops.push(() => envoy.stop());
    const entryUrl = `https://localhost:${envoy.listenerPorts.https}`;

    await writeDemoState(options.dir, {
      pid: process.pid,
      entryUrl,
      issuer: idp.issuer,
      tokenEndpoint: idp.tokenEndpoint,
      resource: idp.resource,
      audience: idp.audience,
      clients: {
        [DEMO_CLIENT_ID]: idp.cliClient,
        [DEMO_BATCH_CLIENT_ID]: idp.batchClient,
        [DEMO_WEB_CLIENT_ID]: idp.webClient,
      },
      mintUrl: `${idp.issuer}${MINT_USER_TOKEN_PATH}`,
      mintSecret,
    });
    stops.splice(stops.length - 1, 0, () => removeDemoState(options.dir, process.pid));

    return {
      entryUrl,
      adminUrl: `http://127.0.0.1:${server.ports.admin}`,
      issuer: idp.issuer,
      dir: options.dir,
      envoyExited: envoy.exited,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}

async function waitForReady(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      last = (await res.text()).trim();
      if (res.status === 200) return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Portcullis did not become ready within ${timeoutMs / 1000} s (${last})`);
}
