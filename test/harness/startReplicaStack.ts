// Several Portcullis replicas behind one Envoy running the shipped envoy/replicas.yaml (addresses
// and ports replaced for loopback): dev IdP and echo upstream in-process, each replica a real
// `portcullis serve` child on fixed ports so it can be stopped, killed and started again where
// Envoy expects it. A stopped replica's ports are held by a placeholder (connections reset, like a
// host that is down) so no other test worker takes them in between. close() stops everything.
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { stringify } from "yaml";
import { createSigningJwk, type SigningJwk } from "../../src/demo/startDevIdp.ts";
import { ensureDemoCertificate } from "../../src/demo/startEnvoy.ts";
import { startDevIdp, type DevIdp } from "../../src/demo/startDevIdp.ts";
import { startEchoUpstream } from "../../src/demo/startEchoUpstream.ts";
import { startEnvoy } from "../../src/demo/startEnvoy.ts";
import { createTempScope } from "./createTempScope.ts";
import { httpsRequest, type HttpsResponse } from "./httpsRequest.ts";
import { readReplicasEnvoyConfig, renderReplicasEnvoyConfig, type ReplicaPorts } from "./renderReplicasEnvoyConfig.ts";
import { reservePort, type ReservedPort } from "./reservePort.ts";
import { LOGIN_SCOPES, TEST_AUDIENCE } from "./startStack.ts";
import { startPortcullisProcess, type PortcullisProcess } from "./startPortcullisProcess.ts";
import { waitUntil } from "./waitUntil.ts";

const READY_TIMEOUT_MS = 30_000;
/** The virtual host renderReplicasEnvoyConfig gives Envoy (that of the test certificate). */
const REPLICAS_HOST = "localhost";

export interface ReplicaStackOptions {
  /** How many replicas; default 3 (as the shipped file lists). */
  readonly replicas?: number;
  /** Extra top-level Portcullis config keys, the same for every replica (e.g. `redis`). */
  readonly config?: Readonly<Record<string, unknown>>;
  /**
   * Browser login: the provider gets the dev IdP's web client and a redirect URI on the Envoy
   * origin, every replica the same fresh `session.keys` (plus `session`), so a session made by one
   * replica is honoured by the others.
   */
  readonly login?: boolean;
  readonly session?: Readonly<Record<string, unknown>>;
  /** Extra/overriding settings of every replica's `demo` provider (e.g. `dpop`). */
  readonly provider?: Readonly<Record<string, unknown>>;
  /** Request headers Envoy sends ext_authz beyond the shipped allowed_headers (e.g. `dpop`). */
  readonly extraAllowedHeaders?: readonly string[];
  /** Routes of every replica; default /api required, /public public. */
  readonly routes?: readonly unknown[];
  /** With `login`: the dev IdP posts back-channel logout tokens straight to this replica's auth listener (0-based). */
  readonly backchannelLogoutReplica?: number;
  /** The dev IdP's private signing keys (the first signs), for tests that sign tokens of their own; default: a new one. */
  readonly signingKeys?: readonly SigningJwk[];
  /** Environment variables every replica gets beyond the test process's (e.g. a secret named as `${VAR}`). */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * The replicas serve `listen.tls` (server certificate for localhost, client certificates of
   * `clientCaFile` required) and Envoy talks to them with the shipped UpstreamTlsContext (these files).
   */
  readonly portcullisTls?: {
    readonly server: { readonly certFile: string; readonly keyFile: string };
    readonly clientCaFile: string;
    /** What Envoy trusts and presents. */
    readonly envoy: { readonly caFile: string; readonly certFile: string; readonly keyFile: string };
  };
}

/** Envoy's view of one replica in a cluster (admin /clusters). */
export interface EnvoyHostView {
  readonly healthy: boolean;
  readonly failedActiveHealthCheck: boolean;
  readonly ejectedByOutlierDetection: boolean;
  readonly rqSuccess: number;
  readonly rqTotal: number;
  readonly rqError: number;
}

export interface Replica {
  readonly index: number;
  readonly ports: ReplicaPorts;
  readonly logFile: string;
  /** The running process id, or null while stopped. */
  pid(): number | null;
  /** Sends a signal to the running process (SIGTERM, SIGINT, SIGKILL...). */
  signal(signal: NodeJS.Signals): void;
  /** Resolves with the exit code (null: killed by a signal) once the running process has gone. */
  exited(): Promise<number | null>;
  /** Starts `serve` again on the same ports; resolves once /readyz says 200, with how long that took. */
  start(): Promise<{ readonly readyMs: number }>;
}

export interface ReplicaStack {
  readonly envoyPort: number;
  /** The Host Envoy routes (localhost, with or without the port). */
  readonly host: string;
  readonly origin: string;
  readonly ca: string;
  readonly envoyAdminUrl: string;
  readonly envoyLogFile: string;
  readonly dir: string;
  readonly replicas: readonly Replica[];
  idp(): DevIdp;
  request(path: string, headers?: Record<string, string>): Promise<HttpsResponse>;
  /** Envoy's view of a replica in `portcullis_ext_authz` (default) or `portcullis_auth`. */
  envoyHost(replica: Replica, cluster?: "portcullis_ext_authz" | "portcullis_auth"): Promise<EnvoyHostView>;
  /** Envoy counters and gauges whose name starts with the prefix, e.g. cluster.portcullis_ext_authz. */
  envoyStats(prefix: string): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function startReplicaStack(options: ReplicaStackOptions = {}): Promise<ReplicaStack> {
  const scope = await createTempScope("portcullis-replicas-");
  const { dir, close } = scope;

  try {
    const envoyReserved = options.login === true ? await reservePort() : null;
    if (envoyReserved !== null) scope.defer(() => envoyReserved.release());
    const origin = envoyReserved === null ? null : `https://localhost:${envoyReserved.port}`;
    // Every replica's ports are held before the IdP starts, so its back-channel logout URL can name one.
    const replicaCount = options.replicas ?? 3;
    const heldPorts: { grpc: ReservedPort; auth: ReservedPort; admin: ReservedPort }[] = [];
    for (let index = 0; index < replicaCount; index += 1)
      heldPorts.push({ grpc: await reservePort(), auth: await reservePort(), admin: await reservePort() });
    scope.defer(() => Promise.all(heldPorts.flatMap((h) => [h.grpc.release(), h.auth.release(), h.admin.release()])));
    const backchannelTarget =
      options.backchannelLogoutReplica === undefined ? undefined : heldPorts[options.backchannelLogoutReplica];
    const idp = await startDevIdp({
      audience: TEST_AUDIENCE,
      signingKeys: options.signingKeys ?? [await createSigningJwk()],
      ...(origin === null
        ? {}
        : { webRedirectUris: [`${origin}/oauth2/callback`], webPostLogoutRedirectUris: [`${origin}/`] }),
      ...(origin === null || backchannelTarget === undefined
        ? {}
        : { webBackchannelLogoutUri: `http://127.0.0.1:${backchannelTarget.auth.port}/oauth2/backchannel_logout` }),
    });
    scope.defer(() => idp.close());
    const upstream = await startEchoUpstream();
    scope.defer(() => upstream.close());
    const cert = await ensureDemoCertificate(join(dir, "cert"));

    const sessionKey = randomBytes(32).toString("base64url");
    const replicas: Replica[] = [];
    for (let index = 0; index < replicaCount; index += 1) {
      const held = heldPorts[index] as { grpc: ReservedPort; auth: ReservedPort; admin: ReservedPort };
      const ports: ReplicaPorts = { grpc: held.grpc.port, auth: held.auth.port, admin: held.admin.port };
      const configFile = join(dir, `replica-${index + 1}.yaml`);
      await writeFile(
        configFile,
        stringify({
          listen: {
            grpc: `127.0.0.1:${ports.grpc}`,
            auth: `127.0.0.1:${ports.auth}`,
            admin: `127.0.0.1:${ports.admin}`,
            ...(options.portcullisTls === undefined
              ? {}
              : {
                  tls: {
                    certFile: options.portcullisTls.server.certFile,
                    keyFile: options.portcullisTls.server.keyFile,
                    clientCaFile: options.portcullisTls.clientCaFile,
                  },
                }),
          },
          providers: {
            demo: {
              issuer: idp.issuer,
              audiences: [TEST_AUDIENCE],
              allowInsecureHttp: true,
              discoveryTimeoutMs: 10_000,
              ...(origin === null
                ? {}
                : {
                    clientId: idp.webClient.id,
                    clientSecret: idp.webClient.secret,
                    scopes: [...LOGIN_SCOPES],
                    redirectUri: `${origin}/oauth2/callback`,
                  }),
              ...options.provider,
            },
          },
          ...(origin === null ? {} : { session: { keys: [sessionKey], ...options.session } }),
          routes: options.routes ?? [
            { name: "api", match: { path: "/api" }, auth: "required" },
            { name: "public", match: { path: "/public" }, auth: "public" },
          ],
          log: { level: "info" },
          // The shipped drain (drainSeconds default) is what these tests exercise.
          shutdown: { graceSeconds: 2 },
          ...options.config,
        }),
        { mode: 0o600 },
      );
      replicas.push(
        createReplica(index, ports, held, configFile, join(dir, `replica-${index + 1}.log`), scope.defer, options.env),
      );
    }
    for (const replica of replicas) await replica.start();

    const envoyConfig = renderReplicasEnvoyConfig(await readReplicasEnvoyConfig(), {
      listenPort: envoyReserved?.port ?? 0,
      tlsCertFile: cert.certFile,
      tlsKeyFile: cert.keyFile,
      replicas: replicas.map((r) => r.ports),
      upstreamPort: upstream.port,
      ...(options.extraAllowedHeaders !== undefined ? { extraAllowedHeaders: options.extraAllowedHeaders } : {}),
      ...(options.portcullisTls !== undefined ? { portcullisTls: options.portcullisTls.envoy } : {}),
    });
    await envoyReserved?.release();
    const envoyLogFile = join(dir, "envoy.log");
    const envoy = await startEnvoy({ config: envoyConfig, logFile: envoyLogFile });
    scope.defer(() => envoy.stop());
    const envoyPort = envoy.listenerPorts["https"];
    if (envoyPort === undefined) throw new Error("Envoy has no https listener");

    const envoyHost = async (
      replica: Replica,
      cluster: "portcullis_ext_authz" | "portcullis_auth" = "portcullis_ext_authz",
    ): Promise<EnvoyHostView> => {
      const port = cluster === "portcullis_ext_authz" ? replica.ports.grpc : replica.ports.auth;
      const res = await fetch(`${envoy.adminUrl}/clusters?format=json`, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as { cluster_statuses?: ClusterStatus[] };
      const host = body.cluster_statuses
        ?.find((c) => c.name === cluster)
        ?.host_statuses?.find((h) => h.address?.socket_address?.port_value === port);
      if (host === undefined) throw new Error(`Envoy has no ${cluster} host on port ${port}`);
      const stat = (name: string) => Number(host.stats?.find((s) => s.name === name)?.value ?? 0);
      const flags = host.health_status ?? {};
      const failedActiveHealthCheck = flags.failed_active_health_check === true;
      const ejectedByOutlierDetection = flags.failed_outlier_check === true;
      return {
        healthy: !failedActiveHealthCheck && !ejectedByOutlierDetection && flags.eds_health_status !== "UNHEALTHY",
        failedActiveHealthCheck,
        ejectedByOutlierDetection,
        rqSuccess: stat("rq_success"),
        rqTotal: stat("rq_total"),
        rqError: stat("rq_error"),
      };
    };
    // Envoy asks each replica's health once at start; wait until it has seen every one serving.
    for (const replica of replicas) {
      if (
        !(await waitUntil(
          async () => (await envoyHost(replica)).healthy && (await envoyHost(replica, "portcullis_auth")).healthy,
          15_000,
        ))
      ) {
        throw new Error(`Envoy did not see replica ${replica.index + 1} healthy within 15 s`);
      }
    }

    return {
      envoyPort,
      host: REPLICAS_HOST,
      origin: origin ?? `https://localhost:${envoyPort}`,
      ca: cert.certPem,
      envoyAdminUrl: envoy.adminUrl,
      envoyLogFile,
      dir,
      replicas,
      idp: () => idp,
      request: (path, headers = {}) =>
        httpsRequest({ port: envoyPort, path, ca: cert.certPem, headers: { host: REPLICAS_HOST, ...headers } }),
      envoyHost,
      async envoyStats(prefix) {
        const res = await fetch(
          `${envoy.adminUrl}/stats?format=json&filter=${encodeURIComponent(`^${prefix.replaceAll(".", "\\.")}`)}`,
          {
            signal: AbortSignal.timeout(2000),
          },
        );
        const body = (await res.json()) as { stats?: Array<{ name?: string; value?: number }> };
        const stats: Record<string, number> = {};
        for (const s of body.stats ?? [])
          if (typeof s.name === "string" && typeof s.value === "number") stats[s.name] = s.value;
        return stats;
      },
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

interface ClusterStatus {
  name?: string;
  host_statuses?: Array<{
    address?: { socket_address?: { port_value?: number } };
    stats?: Array<{ name?: string; value?: string | number }>;
    health_status?: {
      eds_health_status?: string;
      failed_active_health_check?: boolean;
      failed_outlier_check?: boolean;
    };
  }>;
}

function createReplica(
  index: number,
  ports: ReplicaPorts,
  initiallyHeld: { grpc: ReservedPort; auth: ReservedPort; admin: ReservedPort },
  configFile: string,
  logFile: string,
  defer: (cleanup: () => Promise<unknown>) => void,
  env: Readonly<Record<string, string>> = {},
): Replica {
  let held: ReservedPort[] = [initiallyHeld.grpc, initiallyHeld.auth, initiallyHeld.admin];
  let running: PortcullisProcess | null = null;
  // Set when the process exits: the placeholders taking its ports back.
  let holding: Promise<void> = Promise.resolve();
  const release = async () => {
    await holding;
    for (const port of held) await port.release();
    held = [];
  };
  defer(async () => {
    await running?.stop();
    await release();
  });
  return {
    index,
    ports,
    logFile,
    pid: () => running?.pid ?? null,
    signal(signal) {
      if (running === null) throw new Error(`replica ${index + 1} is not running`);
      process.kill(running.pid, signal);
    },
    exited() {
      if (running === null) throw new Error(`replica ${index + 1} is not running`);
      return running.exited;
    },
    async start() {
      if (running !== null) throw new Error(`replica ${index + 1} is already running`);
      const t0 = Date.now();
      await release();
      const proc = await startPortcullisProcess(configFile, logFile, undefined, env);
      running = proc;
      // Once it is gone, its ports are held again at once (see the module comment).
      void proc.exited.then(() => {
        if (running === proc) running = null;
        holding = Promise.all([holdPort(ports.grpc), holdPort(ports.auth), holdPort(ports.admin)]).then((ports) => {
          held = ports;
        });
      });
      const ready = await waitUntil(async () => {
        const res = await fetch(`http://127.0.0.1:${ports.admin}/readyz`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        return res.status === 200;
      }, READY_TIMEOUT_MS);
      if (!ready) {
        const tail = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").slice(-15).join("\n");
        throw new Error(`replica ${index + 1}: /readyz did not answer 200 within ${READY_TIMEOUT_MS} ms\n${tail}`);
      }
      return { readyMs: Date.now() - t0 };
    },
  };
}

/** Holds one given loopback port with a placeholder that resets every connection. */
async function holdPort(port: number): Promise<ReservedPort> {
  const placeholder = createServer((socket) => socket.resetAndDestroy());
  const bound = await new Promise<boolean>((resolve) => {
    placeholder.once("error", () => resolve(false));
    placeholder.listen(port, "127.0.0.1", () => resolve(true));
  });
  let released: Promise<void> | undefined;
  return {
    port,
    release: () =>
      (released ??= bound ? new Promise<void>((resolve) => placeholder.close(() => resolve())) : Promise.resolve()),
  };
}
