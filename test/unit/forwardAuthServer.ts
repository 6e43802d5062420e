// A running Portcullis (startServer) with a loopback IdP and forward-auth configured as a test
// asks, and `ask`, one request to its auth listener (or another port) with exactly the given
// headers: what the forward-auth unit tests share. Every server is stopped after each test.
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { afterEach, expect } from "vitest";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { startServer, type RunningServer } from "../../src/app/startServer.ts";
import { createLogger } from "../../src/observability/createLogger.ts";
import { waitUntil } from "../harness/waitUntil.ts";
import { createSigningKey, signToken, startLoopbackIdp, type LoopbackIdp } from "./oidcLoopbackIdp.ts";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const ROUTES = [
  { name: "public", match: { path: "/public" }, auth: "public" },
  { name: "admin", match: { path: "/admin" }, auth: "required", require: { scopes: ["admin"] } },
  { name: "api", match: { path: "/api" }, auth: "required" },
];

async function serverWith(idp: LoopbackIdp, forwardAuth: Record<string, unknown> | null) {
  const parsed = parseConfig({
    listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
    log: { level: "info" },
    shutdown: { drainSeconds: 0 },
    providers: { idp: { issuer: idp.issuer, audiences: ["api"], allowInsecureHttp: true } },
    routes: ROUTES,
    ...(forwardAuth === null ? {} : { forwardAuth }),
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger("info", { write: (line: string) => void lines.push(JSON.parse(line)) });
  const server = await startServer(parsed.config, { logger });
  cleanups.push(() => server.stop());
  expect(await waitUntil(async () => server.readiness().notReady === null, 10_000)).toBe(true);
  return { server, lines };
}

/** `null`: no forwardAuth section (the default, off). */
export async function started(forwardAuth: Record<string, unknown> | null = { enabled: true }) {
  const key = await createSigningKey("k1");
  const idp = await startLoopbackIdp([key.publicJwk]);
  cleanups.push(() => idp.close());
  const { server, lines } = await serverWith(idp, forwardAuth);
  const token = (claims: Record<string, unknown> = {}) => signToken(key, idp.issuer, claims);
  return { server, lines, token };
}

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** GET (or `method`) on the auth listener as nginx's subrequest sends it: `headers` are the proxy's. */
export function ask(
  server: RunningServer,
  headers: Record<string, string | string[]>,
  path = "/oauth2/auth",
  port = server.ports.auth,
  method = "GET",
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on("error", reject);
    req.end();
  });
}
