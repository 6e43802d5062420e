// The Check path in one process, without sockets: decode a CheckRequest as Envoy sends it → gate →
// metrics and log hook → encode the CheckResponse, N times. It isolates what Portcullis's own code
// costs per check from the gRPC transport that run.ts measures around it. Four pipelines run in
// alternating rounds: a cached bearer token, a sealed browser-session cookie (unsealed and checked on
// every request), the same cookie among unrelated ones, and a cached token on a 200-rule, 20-host
// route list, and the same list with deny rules, policy defaults and a claim tree of the newer
// operators on the rule it meets; then the unseal alone and RouteTable.match alone are timed.
// Run: node --disable-warning=ExperimentalWarning bench/checkPath.ts [--iterations 200000]
import { randomBytes } from "node:crypto";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import type { PortcullisConfig } from "../src/config/PortcullisConfig.ts";
import { parseConfig } from "../src/config/parseConfig.ts";
import { buildCheckPipeline } from "../src/app/buildCheckPipeline.ts";
import { RouteTable } from "../src/core/RouteTable.ts";
import { createLogger } from "../src/observability/createLogger.ts";
import { decodeCheckRequest } from "../src/transport/decodeCheckRequest.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import {
  buildLargeRouteConfig,
  LARGE_TABLE_HOSTS,
  LARGE_TABLE_REQUEST,
  POLICY_DEFAULTS,
} from "./buildLargeRouteConfig.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { createBenchSession, UNRELATED_COOKIES } from "./createBenchSession.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { checkMethodDefinition } from "./checkMethodDefinition.ts";

const iterations = Number(process.argv[process.argv.indexOf("--iterations") + 1]) || 200_000;
const jwks = await startJwksServer();
const identity = await createBenchIdentity(jwks.issuer, "bench-api");
jwks.setJwks(identity.jwks);
// Browser login is on (a client and a session key), as in a deployment that serves both browsers
// and API clients; the IdP is never called, because the bench seals the session cookie itself.
const sessionKey = randomBytes(32).toString("base64");
const provider = {
  bench: {
    issuer: jwks.issuer,
    audiences: ["bench-api"],
    algorithms: ["RS256"],
    allowInsecureHttp: true,
    clientId: "bench-web",
    redirectUri: "https://app.example.com/oauth2/callback",
  },
};
const load = (routes: unknown[], policy: object = {}): PortcullisConfig => {
  const parsed = parseConfig({
    providers: provider,
    policy,
    routes,
    session: { keys: [sessionKey] },
    log: { level: "info" },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
};
const smallConfig = load([{ name: "bench", match: { path: "/" }, auth: "required" }]);
const largeConfig = load(buildLargeRouteConfig("bench"));
const policyConfig = load(buildLargeRouteConfig("bench", true), POLICY_DEFAULTS);
const benchProvider = smallConfig.providers["bench"]!;
const browser = createBenchSession({
  key: sessionKey,
  cookieName: smallConfig.session.cookieName,
  provider: "bench",
  issuer: benchProvider.issuer,
  audience: "bench-api",
  clientId: "bench-web",
});

const method = checkMethodDefinition;

interface HeaderOption {
  header: { key: string; value: string };
}
interface OkResponse {
  headers?: HeaderOption[];
  headers_to_remove?: string[];
}

interface PipelineRun {
  readonly name: string;
  /** Runs n checks one after another; resolves with µs per check. */
  run(n: number): Promise<number>;
  readonly counts: { allowed: number; answered: number };
  /** The last OK answer, to prove the pipeline decided what it is meant to measure. */
  last(): OkResponse | null;
  close(): void;
}

/** The whole pipeline on one request, ready to be timed in rounds. */
async function startPipeline(name: string, config: PortcullisConfig, request: object): Promise<PipelineRun> {
  const pipeline = buildCheckPipeline(config, createLogger("warn"));
  await pipeline.registry.start();
  const wire = method.requestSerialize(request);
  const counts = { allowed: 0, answered: 0 };
  let lastOk: Buffer | null = null;
  let resolveCheck: () => void = () => undefined;
  const callback: sendUnaryData<unknown> = (_err, response) => {
    // The handler answers with the CheckResponse bytes: ok_response (tag 0x1a) follows the 4-byte status.
    const encoded = response as Buffer;
    counts.answered += 1;
    if (encoded[4] === 0x1a) {
      counts.allowed += 1;
      lastOk = encoded;
    }
    resolveCheck();
  };
  const run = async (n: number) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const done = new Promise<void>((resolve) => (resolveCheck = resolve));
      const call = { request: decodeCheckRequest(wire) } as ServerUnaryCall<never, unknown>;
      pipeline.handlers["Check"]!(call as never, callback);
      await done;
    }
    return Number(process.hrtime.bigint() - started) / 1000 / n;
  };
  return {
    name,
    run,
    counts,
    last: () =>
      lastOk === null ? null : (method.responseDeserialize(lastOk) as { ok_response: OkResponse }).ok_response,
    close: () => pipeline.registry.close(),
  };
}

/** Fails loudly unless the pipeline allowed as `sub` and left the upstream the Cookie header expected. */
function expectAllowed(p: PipelineRun, sub: string, upstreamCookie: "unchanged" | "removed" | string): void {
  const ok = p.last();
  const header = (key: string) => ok?.headers?.find((h) => h.header.key === key)?.header.value;
  const problems: string[] = [];
  if (ok === null) problems.push("no OK answer");
  else {
    if (header("x-user-sub") !== sub)
      problems.push(`x-user-sub is ${JSON.stringify(header("x-user-sub"))}, expected ${sub}`);
    const removed = ok.headers_to_remove?.includes("cookie") === true;
    const cookie = header("cookie");
    if (upstreamCookie === "unchanged" && (removed || cookie !== undefined))
      problems.push("the Cookie header was touched");
    if (upstreamCookie === "removed" && !removed) problems.push("the Cookie header was not removed");
    if (upstreamCookie !== "unchanged" && upstreamCookie !== "removed" && cookie !== upstreamCookie)
      problems.push(`upstream Cookie is ${JSON.stringify(cookie)}`);
  }
  if (problems.length > 0) throw new Error(`${p.name}: ${problems.join("; ")}`);
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ROUNDS = 5;
const mixedCookies = `${UNRELATED_COOKIES}; ${browser.cookieHeader}`;

// Every pipeline is warmed (JIT, token cache), checked for the decision it is meant to time, then
// timed in alternating rounds, so load on the machine falls on all alike; each figure is the median
// round, and the ratios are taken within one run.
const pipelines = [
  await startPipeline("bearer", smallConfig, buildCheckRequest(identity.token, "localhost", "/x")),
  await startPipeline(
    "session",
    smallConfig,
    buildCheckRequest(null, "localhost", "/x", { cookie: browser.cookieHeader }),
  ),
  await startPipeline(
    "sessionMixed",
    smallConfig,
    buildCheckRequest(null, "localhost", "/x", { cookie: mixedCookies }),
  ),
  await startPipeline(
    "large",
    largeConfig,
    buildCheckRequest(identity.token, LARGE_TABLE_REQUEST.host, LARGE_TABLE_REQUEST.path),
  ),
  await startPipeline(
    "largePolicy",
    policyConfig,
    buildCheckRequest(identity.token, LARGE_TABLE_REQUEST.host, LARGE_TABLE_REQUEST.path),
  ),
] as const;
const [bearer, session, sessionMixed, large, largePolicy] = pipelines;
for (const p of pipelines) await p.run(20_000);
expectAllowed(bearer, "bench-user", "unchanged");
expectAllowed(session, browser.session.sub, "removed");
expectAllowed(sessionMixed, browser.session.sub, UNRELATED_COOKIES);
expectAllowed(large, "bench-user", "unchanged");
expectAllowed(largePolicy, "bench-user", "unchanged");
for (const p of pipelines) p.counts.allowed = p.counts.answered = 0;
const us = new Map<PipelineRun, number[]>(pipelines.map((p) => [p, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const p of pipelines) us.get(p)!.push(await p.run(Math.ceil(iterations / ROUNDS)));
}
for (const p of pipelines) p.close();
await jwks.close();
const usOf = (p: PipelineRun) => median(us.get(p)!);
// Per-round ratios to the round of `to` next to it, then their median: steadier than a ratio of medians.
const ratioOf = (p: PipelineRun, to: PipelineRun = bearer) => median(us.get(p)!.map((v, i) => v / us.get(to)![i]!));
const line = (p: PipelineRun, what: string) =>
  `${p.counts.answered} checks, ${p.counts.allowed} allowed: ${usOf(p).toFixed(2)} µs per check (median of ${ROUNDS} rounds)${p === bearer ? "" : `, ${ratioOf(p).toFixed(2)}× bearer`}, ${what}`;
console.log("decode + decide + observe + encode, one request after another:");
console.log(line(bearer, "bearer token (cached), 1 route"));
console.log(line(session, `session cookie (${browser.cookieHeader.length} bytes, ${browser.chunks} chunk), 1 route`));
console.log(
  line(
    sessionMixed,
    `session cookie among ${UNRELATED_COOKIES.split(";").length} unrelated cookies (${mixedCookies.length} bytes), 1 route`,
  ),
);
console.log(
  line(large, `bearer token (cached), ${largeConfig.routes.length} routes on ${LARGE_TABLE_HOSTS.length} hosts`),
);
console.log(
  line(
    largePolicy,
    `bearer token (cached), the same ${policyConfig.routes.length} routes with deny rules, policy.defaults and a 6-operator claim tree (${ratioOf(largePolicy, large).toFixed(2)}× the plain ${largeConfig.routes.length} routes)`,
  ),
);

// The unseal alone: base64url decode and canonical check, AES-256-GCM open, JSON parse and expiry,
// on the same sealed value the session pipelines carry (parseSession and the rest excluded).
const UNSEAL_PER_ROUND = 20_000;
let opened = 0;
const unsealRound = (): number => {
  const started = process.hrtime.bigint();
  for (let i = 0; i < UNSEAL_PER_ROUND; i++) if (browser.sealer.unseal(browser.sealed) !== null) opened += 1;
  return Number(process.hrtime.bigint() - started) / 1000 / UNSEAL_PER_ROUND;
};
unsealRound();
const unsealUs: number[] = [];
for (let r = 0; r < 7; r++) unsealUs.push(unsealRound());
const plaintextBytes = JSON.stringify({ exp: browser.session.expiresAt, p: browser.session }).length;
console.log(
  `unseal alone (${browser.sealed.length}-char sealed value, ${plaintextBytes}-byte JSON inside; median of 7 × ${UNSEAL_PER_ROUND.toLocaleString("en")}): ${median(unsealUs).toFixed(2)} µs per unseal (${opened === UNSEAL_PER_ROUND * 8 ? "ok" : "FAILED"})`,
);

// RouteTable.match alone over a mix: known hosts (indexed), a wildcard-only host and an unknown
// host, over paths that hit early, late and no per-host rule, with GET and POST.
const mixHosts = [
  LARGE_TABLE_REQUEST.host,
  "svc0.example.com",
  "svc19.example.com",
  "other.example.com",
  "unknown.test",
];
const mixPaths = [
  "/healthz",
  "/api/v2/orders/17",
  "/v1/users/42",
  "/files/a/meta",
  "/api/v2/reports/q/3",
  "/shared/7",
  "/nothing/here",
];
const mix = mixHosts.flatMap((h) =>
  mixPaths.flatMap(
    (p) =>
      [
        [h, p, "GET"],
        [h, p, "POST"],
      ] as const,
  ),
);
const PER_ROUND = 1_000_000;
let matched = 0;
/** ns per match over PER_ROUND matches cycling through the mix. */
const matchRound = (table: RouteTable): number => {
  const started = process.hrtime.bigint();
  for (let i = 0; i < PER_ROUND; i++) {
    const [host, path, verb] = mix[i % mix.length]!;
    if (table.match(host, path, verb) !== null) matched += 1;
  }
  return Number(process.hrtime.bigint() - started) / PER_ROUND;
};
const smallTable = new RouteTable(smallConfig.routes, smallConfig.policy);
const largeTable = new RouteTable(largeConfig.routes, largeConfig.policy);
matchRound(smallTable);
matchRound(largeTable);
const smallNs: number[] = [];
const largeNs: number[] = [];
for (let r = 0; r < 7; r++) {
  smallNs.push(matchRound(smallTable));
  largeNs.push(matchRound(largeTable));
}
console.log(
  `route match alone (${mix.length} requests cycled, median of 7 × ${PER_ROUND.toLocaleString("en")}): 1 route ${median(smallNs).toFixed(0)} ns, ${largeConfig.routes.length} routes on ${LARGE_TABLE_HOSTS.length} hosts ${median(largeNs).toFixed(0)} ns per match (${matched > 0 ? "ok" : "none matched"})`,
);
if (pipelines.some((p) => p.counts.allowed !== p.counts.answered) || opened !== UNSEAL_PER_ROUND * 8)
  process.exitCode = 1;
