// Starts the whole demo on loopback: dev IdP, echo upstream, Portcullis (in-process, the same
// startServer as `serve`), and Envoy (child) terminating TLS with a locally made certificate.
// Ports default to the documented ones (README) on HTTPS port 8443 (mTLS on 8444, a client
// certificate from the demo's own CA); see demoPorts.ts for the rest.
// This module is the demo's public surface: tests and the benchmark import the demo from here only.

import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { DEMO_BATCH_CLIENT_ID, DEMO_CLIENT_ID, DEMO_WEB_CLIENT_ID } from "./demoClients.ts";
import { DEMO_ASSERTION_AUDIENCE } from "./demoConfig.ts";
import { checkDemoPorts, DEFAULT_DEMO_PORTS, holdEphemeralPort, resolveDemoPorts } from "./demoPorts.ts";
import type { DemoPorts } from "./demoPorts.ts";
import { demoRunDir, removeDemoState, writeDemoState } from "./demoState.ts";
import type { DemoMtlsEntry, DemoState } from "./demoState.ts";
import type { DevIdp } from "./DevIdp.ts";
import { MTLS_LISTENER_NAME } from "./addMtlsListener.ts";
import { ensureDemoCertificate } from "./ensureDemoCertificate.ts";
import { ensureDemoClientPki } from "./ensureDemoClientPki.ts";
import { renderEnvoyConfig } from "./renderEnvoyConfig.ts";
import { MINT_USER_TOKEN_PATH } from "./serveMintUserToken.ts";
import { startDemoPortcullis } from "./startDemoPortcullis.ts";
import type { DemoPortcullis } from "./startDemoPortcullis.ts";
import { createSigningJwk, startDevIdp } from "./startDevIdp.ts";
import { startEchoUpstream } from "./startEchoUpstream.ts";
import { startEnvoy } from "./startEnvoy.ts";
import type { RunningEnvoy } from "./startEnvoy.ts";

export { DEFAULT_DEMO_PORTS, PortInUseError, resolveDemoPorts } from "./demoPorts.ts";
export type { DemoPorts } from "./demoPorts.ts";
export { writeDemoState } from "./demoState.ts";
export type { DemoMtlsEntry, DemoState } from "./demoState.ts";

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
  /** The mTLS entry (Envoy's second listener) and the certificate files a client uses there. */
  readonly mtls: DemoMtlsEntry;
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

    const { envoy, mtls } = await startDemoEnvoy({
      dir: options.dir,
      ports: { https: httpsPort, mtls: ports.mtls },
      portcullis,
      upstreamPort: upstream.port,
      logFile: logFiles.envoy,
      releaseHeldPort: async () => held?.release(),
    });
    stops.push(() => envoy.stop());
    const entryUrl = `https://localhost:${envoy.listenerPorts.https}`;

    await writeDemoState(options.dir, demoStateOf(idp, entryUrl, mintSecret, mtls));
    // Removed before Envoy stops, so `demo token` never finds a demo that is going away.
    stops.splice(stops.length - 1, 0, () => removeDemoState(options.dir, httpsPort, process.pid));
    return {
      entryUrl,
      adminUrl: portcullis.adminUrl,
      issuer: idp.issuer,
      dir: options.dir,
      runDir,
      ports: {
        https: httpsPort,
        mtls: envoy.listenerPorts[MTLS_LISTENER_NAME] ?? 0,
        idp: idp.port,
        upstream: upstream.port,
        ...portcullis.ports,
      },
      mtls,
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

/**
 * Envoy with the demo's two entries: HTTPS, and the mTLS listener that asks for a client certificate
 * from the demo's client CA (made once, kept in the demo directory beside the localhost certificate).
 */
async function startDemoEnvoy(options: {
  readonly dir: string;
  readonly ports: Pick<DemoPorts, "https" | "mtls">;
  readonly portcullis: DemoPortcullis;
  readonly upstreamPort: number;
  readonly logFile: string;
  /** Lets go of the held HTTPS port just before Envoy binds it. */
  readonly releaseHeldPort: () => Promise<void>;
}): Promise<{ readonly envoy: RunningEnvoy; readonly mtls: DemoMtlsEntry }> {
  const { dir, portcullis } = options;
  const cert = await ensureDemoCertificate(dir);
  const clientPki = await ensureDemoClientPki(dir);
  const config = await renderEnvoyConfig({
    adminPort: 0,
    listenAddress: "127.0.0.1",
    listenPort: options.ports.https,
    tlsCertFile: cert.certFile,
    tlsKeyFile: cert.keyFile,
    extAuthzPort: portcullis.ports.grpc,
    authPort: portcullis.ports.auth,
    upstreamPort: options.upstreamPort,
    allowedHeaders: portcullis.allowedHeaders,
    mtls: { listenPort: options.ports.mtls, clientCaFile: clientPki.caFile },
  });
  await options.releaseHeldPort();
  const envoy = await startEnvoy({ config, logFile: options.logFile, concurrency: 2 });
  const mtls: DemoMtlsEntry = {
    entryUrl: `https://localhost:${envoy.listenerPorts[MTLS_LISTENER_NAME]}`,
    serverCertFile: cert.certFile,
    clientCertFile: clientPki.clientCertFile,
    clientKeyFile: clientPki.clientKeyFile,
    clientCaFile: clientPki.caFile,
  };
  return { envoy, mtls };
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

function demoStateOf(idp: DevIdp, entryUrl: string, mintSecret: string, mtls: DemoMtlsEntry): DemoState {
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
    mtls,
  };
}
