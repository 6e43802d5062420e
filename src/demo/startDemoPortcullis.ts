// Portcullis inside the demo: the demo config (parsed like any config file), the same startServer
// as `serve`, logs to a file so the terminal shows only what the user needs, and started only once
// it can decide (a first request must not meet a 503 because the IdP's keys are still loading).

import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { envoyAllowedHeaders } from "../app/envoyAllowedHeaders.ts";
import { startServer } from "../app/startServer.ts";
import { formatIssue } from "../config/ConfigIssue.ts";
import { parseConfig } from "../config/parseConfig.ts";
import { createLogger } from "../observability/createLogger.ts";
import { demoConfig } from "./demoConfig.ts";
import type { DemoPorts } from "./demoPorts.ts";
import { DEMO_BATCH_CLIENT_ID } from "./demoClients.ts";
import type { DevIdp } from "./DevIdp.ts";

export interface DemoPortcullisOptions {
  readonly idp: DevIdp;
  /** The public origin browsers use, e.g. https://localhost:8443. */
  readonly entryOrigin: string;
  readonly ports: DemoPorts;
  readonly sessionCookieName: string | undefined;
  readonly logFile: string;
}

export interface DemoPortcullis {
  readonly ports: { readonly grpc: number; readonly auth: number; readonly admin: number };
  readonly adminUrl: string;
  /** The request headers the demo's Envoy sends to ext_authz: those this config reads. */
  readonly allowedHeaders: readonly string[];
  stop(): Promise<void>;
}

export async function startDemoPortcullis(options: DemoPortcullisOptions): Promise<DemoPortcullis> {
  const parsed = parseConfig(
    demoConfig({
      issuer: options.idp.issuer,
      audience: options.idp.audience,
      webClient: options.idp.webClient,
      machineClientId: DEMO_BATCH_CLIENT_ID,
      exchangeClient: options.idp.exchangeClient,
      entryOrigin: options.entryOrigin,
      sessionKey: randomBytes(32).toString("base64url"),
      ports: options.ports,
      ...(options.sessionCookieName === undefined ? {} : { sessionCookieName: options.sessionCookieName }),
    }),
  );
  if (!parsed.ok) throw new Error(`demo config rejected: ${parsed.problems.map(formatIssue).join("; ")}`);
  const logDestination = pino.destination({ dest: options.logFile, mkdir: true, sync: false });
  const server = await startServer(parsed.config, { logger: createLogger(parsed.config.log.level, logDestination) });
  const stop = async () => {
    await server.stop();
    logDestination.flushSync();
  };
  const adminUrl = `http://127.0.0.1:${server.ports.admin}`;
  try {
    await waitForReady(`${adminUrl}/readyz`, 30_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const allowedHeaders = envoyAllowedHeaders(parsed.config).map((h) => h.name);
  return { ports: server.ports, adminUrl, allowedHeaders, stop };
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
