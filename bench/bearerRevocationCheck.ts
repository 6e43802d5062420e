// What consulting the revocation list costs a cached bearer token's decide(): the same token on
// three gates, timed in alternating rounds: no list (bearer-only config), an empty list (browser
// login on, no logout yet: a size read), and a list holding 10,000 other logouts (the token's digests
// kept per claims object, two LRU lookups per check). decide() alone, no transport. Under 10 s.
// Run: node --disable-warning=ExperimentalWarning bench/bearerRevocationCheck.ts [--iterations 200000]
import { buildCheckPipeline } from "../src/app/buildCheckPipeline.ts";
import { parseConfig } from "../src/config/parseConfig.ts";
import type { PortcullisConfig } from "../src/config/PortcullisConfig.ts";
import type { AccessRequest } from "../src/core/AccessRequest.ts";
import type { Gate } from "../src/core/Gate.ts";
import { createLogger } from "../src/observability/createLogger.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { startJwksServer } from "./startJwksServer.ts";

const iterations = Number(process.argv[process.argv.indexOf("--iterations") + 1]) || 200_000;
const ROUNDS = 5;
const LOGOUTS = 10_000;
const jwks = await startJwksServer();
const identity = await createBenchIdentity(jwks.issuer, "bench-api");
jwks.setJwks(identity.jwks);

const load = (login: boolean): PortcullisConfig => {
  const parsed = parseConfig({
    providers: {
      bench: {
        issuer: jwks.issuer,
        audiences: ["bench-api"],
        algorithms: ["RS256"],
        allowInsecureHttp: true,
        ...(login ? { clientId: "bench-web", redirectUri: "https://app.example.com/oauth2/callback" } : {}),
      },
    },
    routes: [{ name: "bench", match: { path: "/" }, auth: "required" }],
    ...(login ? { session: { keys: ["k".repeat(43)] } } : {}),
    log: { level: "warn" },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
};

const request: AccessRequest = {
  requestId: "bench",
  method: "GET",
  scheme: "https",
  host: "localhost",
  path: "/x",
  headers: new Map([["authorization", `Bearer ${identity.token}`]]),
};

const logger = createLogger("warn");
const none = buildCheckPipeline(load(false), logger);
const empty = buildCheckPipeline(load(true), logger);
const full = buildCheckPipeline(load(true), logger);
const now = Math.floor(Date.now() / 1000);
for (let i = 0; i < LOGOUTS; i++) {
  const by = i % 2 === 0 ? { sid: `sid-${i}`, sub: null } : { sid: null, sub: `user-${i}` };
  await full.login!.revocations.revoke({ provider: "bench", ...by, at: now }, 3600, { issuer: "i", jti: `j${i}` });
}
const gates: Array<[string, Gate]> = [
  ["no revocation list", none.gate],
  ["empty revocation list", empty.gate],
  [`${LOGOUTS} other logouts`, full.gate],
];
for (const pipeline of [none, empty, full]) await pipeline.registry.start();

async function run(gate: Gate, n: number): Promise<number> {
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const decision = await gate.decide(request);
    if (decision.kind !== "allow") throw new Error(`expected allow, got ${decision.kind}`);
  }
  return Number(process.hrtime.bigint() - started) / n;
}

for (const [, gate] of gates) await run(gate, 20_000);
const ns = new Map<string, number[]>(gates.map(([name]) => [name, []]));
for (let r = 0; r < ROUNDS; r++)
  for (const [name, gate] of gates) ns.get(name)!.push(await run(gate, Math.ceil(iterations / ROUNDS)));
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`cached bearer token, decide() alone, median of ${ROUNDS} rounds of ${iterations / ROUNDS}:`);
for (const [name] of gates) console.log(`  ${name}: ${median(ns.get(name)!).toFixed(0)} ns per check`);
for (const pipeline of [none, empty, full]) pipeline.registry.close();
full.login!.revocations.close();
await jwks.close();
