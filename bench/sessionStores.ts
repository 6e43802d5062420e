// The session path per store, in one process without gRPC sockets (like checkPath.ts) but with a
// real Redis: a cached bearer token, a sealed cookie session, and a Redis session (one GET and an
// AES-GCM open when not in memory), each timed one check after another (µs per check) and with 32 checks in
// flight (req/s, p50/p99). Then 100,000 distinct sessions are created and each checked once, and
// the replica's heap and RSS growth and Redis's used_memory are reported for both stores.
// Run: node --disable-warning=ExperimentalWarning bench/sessionStores.ts [--iterations 40000] [--sessions 100000]
import { randomBytes } from "node:crypto";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import type { PortcullisConfig } from "../src/config/PortcullisConfig.ts";
import { parseConfig } from "../src/config/parseConfig.ts";
import { buildCheckPipeline, type CheckPipeline } from "../src/app/buildCheckPipeline.ts";
import { createSharedSessionState } from "../src/app/createSharedSessionState.ts";
import { createLogger } from "../src/observability/createLogger.ts";
import { createCookieSessionStore } from "../src/session/createCookieSessionStore.ts";
import { createRedisSessionStore } from "../src/session/createRedisSessionStore.ts";
import type { Session } from "../src/session/Session.ts";
import type { SessionStore } from "../src/session/SessionStore.ts";
import { decodeCheckRequest } from "../src/transport/decodeCheckRequest.ts";
import { startRedis } from "../test/harness/startRedis.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { createBenchSession } from "./createBenchSession.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { checkMethodDefinition } from "./checkMethodDefinition.ts";

const arg = (name: string, fallback: number) => Number(process.argv[process.argv.indexOf(name) + 1]) || fallback;
const iterations = arg("--iterations", 40_000);
const sessionCount = arg("--sessions", 100_000);
const CONCURRENCY = 32;
const ROUNDS = 5;

const redis = await startRedis();
const jwks = await startJwksServer();
const identity = await createBenchIdentity(jwks.issuer, "bench-api");
jwks.setJwks(identity.jwks);
const sessionKey = randomBytes(32).toString("base64");
const load = (store: "cookie" | "redis"): PortcullisConfig => {
  const parsed = parseConfig({
    providers: {
      bench: {
        issuer: jwks.issuer,
        audiences: ["bench-api"],
        algorithms: ["RS256"],
        allowInsecureHttp: true,
        clientId: "bench-web",
        redirectUri: "https://app.example.com/oauth2/callback",
      },
    },
    routes: [{ name: "bench", match: { path: "/" }, auth: "required" }],
    session: { keys: [sessionKey], store },
    redis: { url: redis.url, commandTimeoutMs: 2000 },
    log: { level: "warn" },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
};
const cookieConfig = load("cookie");
const redisConfig = load("redis");
const logger = createLogger("warn");
const shared = createSharedSessionState(redisConfig, logger);
while (!shared.redis?.isUp()) await new Promise((r) => setTimeout(r, 20));
const sample = createBenchSession({
  key: sessionKey,
  cookieName: cookieConfig.session.cookieName,
  provider: "bench",
  issuer: jwks.issuer,
  audience: "bench-api",
  clientId: "bench-web",
});

const stores: Record<"cookie" | "redis", SessionStore> = {
  cookie: createCookieSessionStore({
    cookieName: cookieConfig.session.cookieName,
    cookieDomain: null,
    keys: [sessionKey],
    maxChunks: 8,
    cacheMax: 10_000,
  }),
  redis: createRedisSessionStore({
    connection: shared.redis!,
    cookieName: redisConfig.session.cookieName,
    cookieDomain: null,
    keys: [sessionKey],
    lifetimeSeconds: redisConfig.session.lifetimeSeconds,
    lockTtlMs: () => 2_600,
  }),
};
/** A fresh session like the sample (new id, sub) stored in `store`; returns the browser's Cookie header. */
async function newSessionCookie(store: SessionStore, n: number): Promise<string> {
  const session: Session = {
    ...sample.session,
    id: randomBytes(16).toString("base64url"),
    sub: `user-${n}`,
    sid: `sid-${n}`,
    claims: { ...sample.session.claims, sub: `user-${n}` },
  };
  const setCookies = await store.create(session, new Map(), Math.floor(Date.now() / 1000));
  return setCookies.map((c) => c.slice(0, c.indexOf(";"))).join("; ");
}

const method = checkMethodDefinition;

interface Run {
  readonly name: string;
  readonly pipeline: CheckPipeline;
  /** One Check through the handlers; resolves with whether it was allowed. */
  check(wire: Buffer): Promise<boolean>;
  readonly wire: Buffer;
}

async function startRun(name: string, config: PortcullisConfig, request: object, withShared: boolean): Promise<Run> {
  const pipeline = buildCheckPipeline(config, logger, withShared ? { shared } : {});
  await pipeline.registry.start();
  const check = (wire: Buffer) =>
    new Promise<boolean>((resolve) => {
      const call = { request: decodeCheckRequest(wire) } as ServerUnaryCall<never, unknown>;
      const callback: sendUnaryData<unknown> = (_err, response) =>
        // The handler answers with the CheckResponse bytes: ok_response (tag 0x1a) follows the 4-byte status.
        resolve((response as Buffer)[4] === 0x1a);
      pipeline.handlers["Check"]!(call as never, callback);
    });
  return { name, pipeline, check, wire: method.requestSerialize(request) };
}

const runs = [
  await startRun("bearer", cookieConfig, buildCheckRequest(identity.token, "localhost", "/x"), false),
  await startRun(
    "cookie session",
    cookieConfig,
    buildCheckRequest(null, "localhost", "/x", { cookie: sample.cookieHeader }),
    false,
  ),
  await startRun(
    "redis session",
    redisConfig,
    buildCheckRequest(null, "localhost", "/x", { cookie: await newSessionCookie(stores.redis, 0) }),
    true,
  ),
];

async function sequential(run: Run, n: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (!(await run.check(run.wire))) throw new Error(`${run.name}: a check was denied`);
  return Number(process.hrtime.bigint() - started) / 1000 / n;
}

async function concurrent(run: Run, n: number): Promise<{ rps: number; p50: number; p99: number }> {
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < n) {
        const t = process.hrtime.bigint();
        if (!(await run.check(run.wire))) throw new Error(`${run.name}: a check was denied`);
        latencies.push(Number(process.hrtime.bigint() - t) / 1000);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / seconds,
    p50: latencies[Math.floor(latencies.length * 0.5)]!,
    p99: latencies[Math.floor(latencies.length * 0.99)]!,
  };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
for (const run of runs) await sequential(run, 5_000);
const seq = new Map<Run, number[]>(runs.map((r) => [r, []]));
const conc = new Map<Run, { rps: number; p50: number; p99: number }[]>(runs.map((r) => [r, []]));
// Alternating rounds: load on the shared machine falls on every path alike.
for (let round = 0; round < ROUNDS; round++) {
  for (const run of runs) seq.get(run)!.push(await sequential(run, Math.ceil(iterations / ROUNDS / 4)));
  for (const run of runs) conc.get(run)!.push(await concurrent(run, Math.ceil(iterations / ROUNDS)));
}
console.log(
  `session path by store (median of ${ROUNDS} alternating rounds; ${CONCURRENCY} checks in flight for req/s and latency):`,
);
for (const run of runs) {
  const c = conc.get(run)!;
  const pick = (k: "rps" | "p50" | "p99") => median(c.map((x) => x[k]));
  console.log(
    `  ${run.name.padEnd(15)} ${median(seq.get(run)!).toFixed(1).padStart(6)} µs per check alone   ${pick("rps").toFixed(0).padStart(6)} checks/s   p50 ${(pick("p50") / 1000).toFixed(2)} ms   p99 ${(pick("p99") / 1000).toFixed(2)} ms`,
  );
}

// Memory with many active sessions: each session created, then checked once through the pipeline.
async function memoryWith(store: "cookie" | "redis"): Promise<string> {
  const run = store === "cookie" ? runs[1]! : runs[2]!;
  const cookies: string[] = [];
  for (let i = 0; i < sessionCount; i += 100) {
    cookies.push(
      ...(await Promise.all(
        Array.from({ length: Math.min(100, sessionCount - i) }, (_, j) => newSessionCookie(stores[store], i + j + 1)),
      )),
    );
  }
  globalThis.gc?.();
  const before = process.memoryUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < cookies.length; i += CONCURRENCY) {
    const batch = cookies
      .slice(i, i + CONCURRENCY)
      .map((cookie) => method.requestSerialize(buildCheckRequest(null, "localhost", "/x", { cookie })));
    const allowed = await Promise.all(batch.map((wire) => run.check(wire)));
    if (allowed.includes(false)) throw new Error(`${store}: a session check was denied`);
  }
  const firstChecksPerSecond = cookies.length / (Number(process.hrtime.bigint() - started) / 1e9);
  globalThis.gc?.();
  const after = process.memoryUsage();
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  const cookieBytes = Math.round(cookies.reduce((sum, c) => sum + c.length, 0) / cookies.length);
  let line = `  ${store.padEnd(6)} store: ${sessionCount.toLocaleString("en")} sessions checked once each (${firstChecksPerSecond.toFixed(0)} first checks/s, none in memory yet); cookie ${cookieBytes} bytes; replica heap +${mb(after.heapUsed - before.heapUsed)}, RSS +${mb(after.rss - before.rss)} (heap ${mb(after.heapUsed)})`;
  if (store === "redis") {
    const info = String(await redis.command("INFO", "memory"));
    const used = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
    line += `; Redis used_memory ${mb(used)} (${(used / sessionCount / 1024).toFixed(1)} KB per session)`;
  }
  cookies.length = 0;
  return line;
}
console.log(
  `memory (the bench's own cookie list is kept out of the growth by measuring after creating it${globalThis.gc ? ", gc between" : "; run with --expose-gc for steadier figures"}):`,
);
console.log(await memoryWith("cookie"));
console.log(await memoryWith("redis"));

for (const run of runs) run.pipeline.registry.close();
shared.close();
await jwks.close();
await redis.close();
