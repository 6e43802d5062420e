// The demo's listeners and their ports: the documented defaults for a demo on HTTPS port 8443,
// system-chosen ports for the rest when a demo runs on another HTTPS port (so a second demo never
// collides with the first), and the checks that name a port that is taken or given twice.

import { createServer } from "node:net";
import type { AddressInfo } from "node:net";

export interface DemoPorts {
  /** Envoy's HTTPS listener: the demo's entry. */
  readonly https: number;
  /** Envoy's mTLS listener: the same routes, with a client certificate from the demo's client CA. */
  readonly mtls: number;
  /** The dev IdP (issuer http://127.0.0.1:PORT). */
  readonly idp: number;
  /** The echo upstream behind Envoy. */
  readonly upstream: number;
  /** Portcullis's ext_authz gRPC listener. */
  readonly grpc: number;
  /** Portcullis's auth HTTP listener (/oauth2/*). */
  readonly auth: number;
  /** Portcullis's admin listener (/metrics, /healthz, /readyz). */
  readonly admin: number;
}

export const DEFAULT_DEMO_PORTS: DemoPorts = {
  https: 8443,
  mtls: 8444,
  idp: 9400,
  upstream: 9480,
  grpc: 9191,
  auth: 8181,
  admin: 9464,
};

export class PortInUseError extends Error {
  readonly port: number;
  constructor(name: string, port: number) {
    super(
      `port 127.0.0.1:${port} (${name}) is already in use — is another demo running? Stop it, or start this one on other ports (portcullis demo --help).`,
    );
    this.port = port;
  }
}

/**
 * The ports a demo listens on, 0 meaning one the system picks: those asked for, and the others at
 * their defaults on the default HTTPS port, system-chosen on any other.
 */
export function resolveDemoPorts(requested: Partial<DemoPorts>): DemoPorts {
  const https = requested.https ?? DEFAULT_DEMO_PORTS.https;
  const fallback = https === DEFAULT_DEMO_PORTS.https ? DEFAULT_DEMO_PORTS : undefined;
  const pick = (name: keyof DemoPorts) => requested[name] ?? fallback?.[name] ?? 0;
  return {
    https,
    mtls: pick("mtls"),
    idp: pick("idp"),
    upstream: pick("upstream"),
    grpc: pick("grpc"),
    auth: pick("auth"),
    admin: pick("admin"),
  };
}

/** Throws when a port is outside 0-65535, given to two listeners, or already taken on 127.0.0.1. */
export async function checkDemoPorts(ports: DemoPorts): Promise<void> {
  const owners = new Map<number, string>();
  for (const [name, port] of Object.entries(ports)) {
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new Error(`${name} port: not a port (${port})`);
    if (port === 0) continue;
    const other = owners.get(port);
    if (other !== undefined) throw new Error(`the ${other} and ${name} listeners cannot share port ${port}`);
    owners.set(port, name);
  }
  for (const [name, port] of Object.entries(ports)) {
    if (port !== 0 && !(await isPortFree(port))) throw new PortInUseError(name, port);
  }
}

/** A loopback port held by a placeholder until its real user is about to bind it (no free-then-bind race). */
export interface HeldPort {
  readonly port: number;
  release(): Promise<void>;
}

export async function holdEphemeralPort(): Promise<HeldPort> {
  const placeholder = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve, reject) => {
    placeholder.once("error", reject);
    placeholder.listen(0, "127.0.0.1", () => resolve());
  });
  let released: Promise<void> | undefined;
  return {
    port: (placeholder.address() as AddressInfo).port,
    release: () => (released ??= new Promise<void>((resolve) => placeholder.close(() => resolve()))),
  };
}

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
  });
}
