// What the requirement language costs a cached bearer token's decide(): the 200-rule table of
// checkPath.ts plain, and with deny rules, policy.defaults and the 6-operator claim tree
// (buildLargeRouteConfig with policyOperators), timed in alternating rounds in one process. With
// `--base DIR` the same two gates of another checkout (its src/ and bench/buildLargeRouteConfig.ts)
// join the same rounds, so a before and an after meet the same machine. decide() alone, no transport;
// main-thread CPU time, which a busy machine disturbs less than wall time.
// Run: node --disable-warning=ExperimentalWarning bench/policyTableCheck.ts [--base DIR] [--iterations 300000] [--rounds 15]
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { AccessRequest } from "../src/core/AccessRequest.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { startJwksServer } from "./startJwksServer.ts";

const arg = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at === -1 ? undefined : process.argv[at + 1];
};
const iterations = Number(arg("--iterations")) || 300_000;
const rounds = Number(arg("--rounds")) || 15;
const base = arg("--base");

interface DecidingGate {
  decide(request: AccessRequest): Promise<{ kind: string }>;
}
interface Tree {
  readonly name: string;
  readonly plain: DecidingGate;
  readonly policy: DecidingGate;
  close(): void;
}

const jwks = await startJwksServer();
const identity = await createBenchIdentity(jwks.issuer, "bench-api");
jwks.setJwks(identity.jwks);

/** The two gates of the checkout at `dir`, built by its own code from its own table. */
async function loadTree(name: string, dir: string): Promise<Tree> {
  const from = (path: string) => import(pathToFileURL(resolve(dir, path)).href);
  const { buildCheckPipeline } = await from("src/app/buildCheckPipeline.ts");
  const { parseConfig } = await from("src/config/parseConfig.ts");
  const { createLogger } = await from("src/observability/createLogger.ts");
  const { buildLargeRouteConfig, POLICY_DEFAULTS } = await from("bench/buildLargeRouteConfig.ts");
  const providers = {
    bench: { issuer: jwks.issuer, audiences: ["bench-api"], algorithms: ["RS256"], allowInsecureHttp: true },
  };
  const pipelineOf = async (routes: unknown[], policy: object) => {
    const parsed = parseConfig({ providers, policy, routes, log: { level: "warn" } });
    if (!parsed.ok) throw new Error(`${name}: ${JSON.stringify(parsed.problems)}`);
    const pipeline = buildCheckPipeline(parsed.config, createLogger("warn"));
    await pipeline.registry.start();
    return pipeline;
  };
  const plain = await pipelineOf(buildLargeRouteConfig("bench"), {});
  const policy = await pipelineOf(buildLargeRouteConfig("bench", true), POLICY_DEFAULTS);
  return {
    name,
    plain: plain.gate,
    policy: policy.gate,
    close: () => {
      plain.registry.close();
      policy.registry.close();
    },
  };
}

const request: AccessRequest = {
  requestId: "bench",
  method: "GET",
  scheme: "https",
  host: "svc7.example.com",
  path: "/api/v2/orders/17",
  headers: new Map([["authorization", `Bearer ${identity.token}`]]),
};

/**
 * Main-thread CPU ns per decide() over n checks, each of which must allow on the orders-read rule:
 * on a shared machine the time the thread waits for a core is left out (wall time is not).
 */
async function run(gate: DecidingGate, n: number): Promise<number> {
  const started = process.threadCpuUsage();
  for (let i = 0; i < n; i++) {
    const decision = await gate.decide(request);
    if (decision.kind !== "allow") throw new Error(`expected allow, got ${JSON.stringify(decision)}`);
  }
  const used = process.threadCpuUsage(started);
  return ((used.user + used.system) * 1000) / n;
}

const trees = [await loadTree("this tree", "."), ...(base === undefined ? [] : [await loadTree(base, base)])];
const gates = trees.flatMap((t) => [t.plain, t.policy]);
for (const gate of gates) await run(gate, 20_000);
const ns = new Map<DecidingGate, number[]>(gates.map((g) => [g, []]));
const perRound = Math.ceil(iterations / rounds);
for (let r = 0; r < rounds; r++) for (const gate of gates) ns.get(gate)!.push(await run(gate, perRound));

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const spread = (values: number[]) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;
console.log(
  `cached bearer token, decide() alone, main-thread CPU, ${rounds} alternating rounds of ${perRound.toLocaleString("en")}:`,
);
for (const tree of trees) {
  const plain = ns.get(tree.plain)!;
  const policy = ns.get(tree.policy)!;
  // Per-round ratios (the two gates ran next to each other), then their median: steadier than a ratio of medians.
  const ratios = policy.map((v, i) => v / plain[i]!);
  const extra = policy.map((v, i) => v - plain[i]!);
  const signed = (ns: number) => `${ns >= 0 ? "+" : ""}${ns.toFixed(0)} ns`;
  console.log(
    `  ${tree.name}: 200 routes ${median(plain).toFixed(0)} ns, with deny rules, defaults and the claim tree ${median(policy).toFixed(0)} ns per check; per round ${median(ratios).toFixed(3)}× (${spread(ratios)}), ${signed(median(extra))} (${signed(Math.min(...extra))} to ${signed(Math.max(...extra))})`,
  );
}
for (const tree of trees) tree.close();
await jwks.close();
