// Starts the whole demo on loopback: dev IdP, echo upstream, Portcullis (in-process, the same
// startServer as `serve`), and Envoy (child) terminating TLS with a locally made certificate.
// Ports default to the documented ones (README) on HTTPS port 8443; see demoPorts.ts for the rest.
// This module is the demo's public surface: tests and the benchmark import the demo from here only.

import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { DEMO_BATCH_CLIENT_ID, DEMO_CLIENT_ID, DEMO_WEB_CLIENT_ID } from "./demoClients.ts";
import { DEMO_ASSERTION_AUDIENCE } from "./demoConfig.ts";
import { checkDemoPorts, DEFAULT_DEMO_PORTS, holdEphemeralPort, resolveDemoPorts } from "./demoPorts.ts";
import type { DemoPorts } from "./demoPorts.ts";
import { demoRunDir, removeDemoState, writeDemoState } from "./demoState.ts";
import type { DemoState } from "./demoState.ts";
import type { DevIdp } from "./DevIdp.ts";
import { ensureDemoCertificate } from "./ensureDemoCertificate.ts";
import { renderEnvoyConfig } from "./renderEnvoyConfig.ts";
import { MINT_USER_TOKEN_PATH } from "./serveMintUserToken.ts";
import { startDemoPortcullis } from "./startDemoPortcullis.ts";
import { createSigningJwk, startDevIdp } from "./startDevIdp.ts";
import { startEchoUpstream } from "./startEchoUpstream.ts";
import { startEnvoy } from "./startEnvoy.ts";

export { DEFAULT_DEMO_PORTS, PortInUseError, resolveDemoPorts } from "./demoPorts.ts";
export type { DemoPorts } from "./demoPorts.ts";
export { writeDemoState } from "./demoState.ts";
export type { DemoState } from "./demoState.ts";

export interface DemoOptions {
  /** The demo directory: the certificate every demo shares, and a directory per demo (by HTTPS port). */
  readonly dir: string;
  /** Ports asked for, 0 = system-chosen; see resolveDemoPorts for the ones not given. */
  readonly ports?: Partial<DemoPorts>;
}

export interface RunningDemo {
  readonly entryUrl: string;
  readonly adminUrl: string;
  readonly issuer: string;
  /** The demo directory given in the options. */
  readonly dir: string;
  /** This demo's own directory: its state file and logs. */
  readonly runDir: string;
  /** The ports every listener bound. */
  readonly ports: DemoPorts;
  readonly logFiles: { readonly portcullis: string; readonly envoy: string };
  /** Resolves when Envoy exits on its own (a crash): the demo is then no longer usable. */
  readonly envoyExited: Promise<void>;
  stop(): Promise<void>;
}

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const ports = resolveDemoPorts(options.ports ?? {});
  await checkDemoPorts(ports);
  // The HTTPS port names the demo's directory and goes into the IdP's redirect URIs, so an
  // ephemeral one is chosen now and held until Envoy binds it.
  const held = ports.https === 0 ? await holdEphemeralPort() : undefined;
  const httpsPort = held?.port ?? ports.https;
  const runDir = demoRunDir(options.dir, httpsPort);
  const logFiles = { portcullis: join(runDir, "portcullis.log"), envoy: join(runDir, "envoy.log") };
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const step of stops.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    await mkdir(runDir, { recursive: true, mode: 0o700 });
    const entryOrigin = `https://localhost:${httpsPort}`;
    const mintSecret = randomBytes(32).toString("base64url");
    const idp = await startDemoIdp(ports, entryOrigin, mintSecret);
    stops.push(() => idp.close());
    let authPort = 0;
    const upstream = await startDemoUpstream(ports.upstream, entryOrigin, () => authPort);
    stops.push(() => upstream.close());
    const portcullis = await startDemoPortcullis({
      idp,
      entryOrigin,
      ports,
      // Browsers send localhost cookies to every port: a demo beside the default one names its own.
      sessionCookieName: httpsPort === DEFAULT_DEMO_PORTS.https ? undefined : `__Host-portcullis-${httpsPort}`,
      logFile: logFiles.portcullis,
    });
    stops.push(() => portcullis.stop());
    authPort = portcullis.ports.auth;

    const cert = await ensureDemoCertificate(options.dir);
    await held?.release();
    const envoy = await startEnvoy({
      config: await renderEnvoyConfig({
        adminPort: 0,
        listenAddress: "127.0.0.1",
        listenPort: httpsPort,
        tlsCertFile: cert.certFile,
        tlsKeyFile: cert.keyFile,
        extAuthzPort: portcullis.ports.grpc,
        authPort: portcullis.ports.auth,
        upstreamPort: upstream.port,
        allowedHeaders: portcullis.allowedHeaders,
      }),
      logFile: logFiles.envoy,
      concurrency: 2,
    });
    stops.push(() => envoy.stop());
    const entryUrl = `https://localhost:${envoy.listenerPorts.https}`;

    await writeDemoState(options.dir, demoStateOf(idp, entryUrl, mintSecret));
    // Removed before Envoy stops, so `demo token` never finds a demo that is going away.
    stops.splice(stops.length - 1, 0, () => removeDemoState(options.dir, httpsPort, process.pid));
    return {
      entryUrl,
      adminUrl: portcullis.adminUrl,
      issuer: idp.issuer,
      dir: options.dir,
      runDir,
      ports: { https: httpsPort, idp: idp.port, upstream: upstream.port, ...portcullis.ports },
      logFiles,
      envoyExited: envoy.exited,
      stop,
    };
  } catch (error) {
    await held?.release();
    await stop();
    throw error;
  }
}

/**
 * The echo upstream, verifying the signed assertion as an upstream would: it fetches Portcullis's
 * keys from the auth listener inside the machine, once Portcullis listens (it starts after this).
 */
function startDemoUpstream(port: number, entryOrigin: string, authPort: () => number) {
  return startEchoUpstream({
    port,
    assertion: {
      issuer: entryOrigin,
      audience: DEMO_ASSERTION_AUDIENCE,
      jwksUrl: () => `http://127.0.0.1:${authPort()}/.well-known/jwks.json`,
    },
  });
}

async function startDemoIdp(ports: DemoPorts, entryOrigin: string, mintSecret: string): Promise<DevIdp> {
  return startDevIdp({
    signingKeys: [await createSigningJwk()],
    port: ports.idp,
    mintSecret,
    webRedirectUris: [`${entryOrigin}/oauth2/callback`],
    webPostLogoutRedirectUris: [`${entryOrigin}/`],
    // Signing out at the IdP ends the Portcullis session too: the IdP posts its logout token
    // straight to the auth listener (IdP and Portcullis share the machine).
    ...(ports.auth === 0
      ? {}
      : { webBackchannelLogoutUri: `http://127.0.0.1:${ports.auth}/oauth2/backchannel_logout` }),
  });
}

function demoStateOf(idp: DevIdp, entryUrl: string, mintSecret: string): DemoState {
  return {
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
  };
}
