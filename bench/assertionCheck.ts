// What the signed identity assertion costs a check, in one process without sockets (decode → gate →
// observe → encode, as bench/checkPath.ts): CPU µs per check of a cached bearer token on a route
// without the assertion and on one with it, (a) on the hot path, where the gate hands out the kept
// answer until the assertion renews, (b) with a header the route removes, so the gate makes every
// answer and asks the signer each time (a cache hit), and (c) with the signer's cache held to one
// entry and two people alternating, so every check signs (a miss). Pipelines alternate in rounds;
// each figure is the median round. The hit rate is the signer's own count over the timed rounds.
// Run: node --disable-warning=ExperimentalWarning bench/assertionCheck.ts [--iterations 100000]
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { SignJWT } from "jose";
import { buildCheckPipeline, type CheckPipeline } from "../src/app/buildCheckPipeline.ts";
import { parseConfig } from "../src/config/parseConfig.ts";
import type { PortcullisConfig } from "../src/config/PortcullisConfig.ts";
import { createLogger } from "../src/observability/createLogger.ts";
import { decodeCheckRequest } from "../src/transport/decodeCheckRequest.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { checkMethodDefinition } from "./checkMethodDefinition.ts";

const iterations = Number(process.argv[process.argv.indexOf("--iterations") + 1]) || 100_000;
const jwks = await startJwksServer();
const identity = await createBenchIdentity(jwks.issuer, "bench-api");
jwks.setJwks(identity.jwks);
const now = Math.floor(Date.now() / 1000);
const otherToken = await new SignJWT({ email: "other@example.com", scope: "openid bench", roles: ["bench"] })
  .setProtectedHeader({ alg: "RS256", kid: identity.kid, typ: "JWT" })
  .setIssuer(jwks.issuer)
  .setAudience("bench-api")
  .setSubject("other-user")
  .setIssuedAt(now)
  .setExpirationTime(now + 24 * 3600)
  .sign(identity.privateKey);

const load = (assertion: Record<string, unknown>): PortcullisConfig => {
  const parsed = parseConfig({
    providers: {
      bench: { issuer: jwks.issuer, audiences: ["bench-api"], algorithms: ["RS256"], allowInsecureHttp: true },
    },
    identity: { assertion: { issuer: "https://auth.example.com", ...assertion } },
    routes: [
      { name: "plain", match: { path: "/plain" }, auth: "required" },
      {
        name: "asserted",
        match: { path: "/asserted" },
        auth: "required",
        assertion: { enabled: true, audience: "orders" },
      },
    ],
    log: { level: "info" },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
};

const method = checkMethodDefinition;

interface Run {
  readonly name: string;
  readonly pipeline: CheckPipeline;
  /** Runs n checks, cycling over the requests; resolves with CPU µs per check. */
  run(n: number): Promise<number>;
  readonly counts: { allowed: number; answered: number; asserted: number };
}

async function startRun(name: string, pipeline: CheckPipeline, requests: readonly object[]): Promise<Run> {
  await pipeline.registry.start();
  const wires = requests.map((r) => method.requestSerialize(r));
  const counts = { allowed: 0, answered: 0, asserted: 0 };
  let resolveCheck: () => void = () => undefined;
  const callback: sendUnaryData<unknown> = (_err, response) => {
    const encoded = response as Buffer;
    counts.answered += 1;
    // ok_response (tag 0x1a) follows the 4-byte status; the assertion shows in its bytes.
    if (encoded[4] === 0x1a) counts.allowed += 1;
    // A compact JWS whose protected header begins {"alg": (x-user-context's base64 JSON begins eyJ too).
    if (encoded.includes("x-portcullis-assertion") && encoded.includes("eyJhbGciOi")) counts.asserted += 1;
    resolveCheck();
  };
  const run = async (n: number) => {
    const started = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const done = new Promise<void>((resolve) => (resolveCheck = resolve));
      const call = { request: decodeCheckRequest(wires[i % wires.length]!) } as ServerUnaryCall<never, unknown>;
      pipeline.handlers["Check"]!(call as never, callback);
      await done;
    }
    const used = process.cpuUsage(started);
    return (used.user + used.system) / n;
  };
  return { name, pipeline, run, counts };
}

const logger = createLogger("warn");
const shared = buildCheckPipeline(load({}), logger);
const missing = buildCheckPipeline(load({ cacheMaxEntries: 1 }), logger);
// A header the routes remove (policy.removeRequestHeaders): the gate makes each answer afresh.
const steering = { "x-forwarded-host": "evil.example.com" };
const request = (token: string, path: string, extra: Record<string, string> = {}) =>
  buildCheckRequest(token, "localhost", path, extra);
const runs = [
  await startRun("kept, no assertion", shared, [request(identity.token, "/plain/x")]),
  await startRun("kept, assertion", shared, [request(identity.token, "/asserted/x")]),
  await startRun("made, no assertion", shared, [request(identity.token, "/plain/x", steering)]),
  await startRun("made, assertion (cache hit)", shared, [request(identity.token, "/asserted/x", steering)]),
  await startRun("made, assertion (cache miss: signs)", missing, [
    request(identity.token, "/asserted/x", steering),
    request(otherToken, "/asserted/x", steering),
  ]),
] as const;
for (const r of runs) await r.run(5_000);
for (const r of runs) {
  if (r.counts.allowed !== r.counts.answered)
    throw new Error(`${r.name}: ${r.counts.answered - r.counts.allowed} denied`);
  const wantsAssertion = r.name.includes("assertion") && !r.name.includes("no assertion");
  if ((r.counts.asserted === r.counts.answered) !== wantsAssertion)
    throw new Error(`${r.name}: assertion header wrong`);
  r.counts.allowed = r.counts.answered = r.counts.asserted = 0;
}
const statsOf = (p: CheckPipeline) => p.assertion?.signer.stats() ?? { hits: 0, misses: 0 };
// The signer's lookups during each run's own timed rounds (the two runs with a steering header and the
// kept-answer run share one pipeline, hence one signer).
const counted = new Map(runs.map((r) => [r, { hits: 0, misses: 0 }]));
const ROUNDS = 5;
const us = new Map<Run, number[]>(runs.map((r) => [r, []]));
for (let round = 0; round < ROUNDS; round++) {
  for (const r of runs) {
    const s = statsOf(r.pipeline);
    us.get(r)!.push(await r.run(Math.ceil(iterations / ROUNDS)));
    const e = statsOf(r.pipeline);
    const c = counted.get(r)!;
    counted.set(r, { hits: c.hits + e.hits - s.hits, misses: c.misses + e.misses - s.misses });
  }
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const base = new Map([
  [runs[1], runs[0]],
  [runs[3], runs[2]],
  [runs[4], runs[2]],
]);
console.log(`CPU µs per check (user + system), median of ${ROUNDS} rounds of ${Math.ceil(iterations / ROUNDS)}:`);
for (const r of runs) {
  const other = base.get(r);
  const delta = other === undefined ? "" : `, +${(median(us.get(r)!) - median(us.get(other)!)).toFixed(2)} µs`;
  console.log(`  ${r.name.padEnd(38)} ${median(us.get(r)!).toFixed(2)} µs${delta}`);
}
for (const r of [runs[1], runs[3], runs[4]]) {
  const { hits, misses } = counted.get(r)!;
  const total = hits + misses;
  console.log(
    `  ${r.name}: signer asked ${total} times for ${r.counts.answered} checks, hit rate ${total === 0 ? "n/a" : ((hits / total) * 100).toFixed(1) + "%"}`,
  );
}
for (const p of [shared, missing]) p.registry.close();
await jwks.close();
