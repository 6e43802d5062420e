// What a DPoP check costs (RFC 9449), in one process without sockets (decode → gate → observe →
// encode, as bench/checkPath.ts): CPU µs per check of a cached bearer token (in a config without
// DPoP and in one with it, to show the bearer path unchanged) and of a cached DPoP-bound token with a
// fresh proof each time (ES256 and EdDSA keys): the proof's signature, claims, thumbprint and the
// in-memory replay store are the difference. Proofs are signed before the timing, each used once.
// Pipelines alternate in rounds; each figure is the median round.
// Run: node --disable-warning=ExperimentalWarning bench/dpopCheck.ts [--iterations 20000]
import { randomUUID } from "node:crypto";
import type { sendUnaryData, ServerUnaryCall } from "@grpc/grpc-js";
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT } from "jose";
import { buildCheckPipeline, type CheckPipeline } from "../src/app/buildCheckPipeline.ts";
import { parseConfig } from "../src/config/parseConfig.ts";
import type { PortcullisConfig } from "../src/config/PortcullisConfig.ts";
import { tokenHash } from "../src/oidc/checkDpopProof.ts";
import { createLogger } from "../src/observability/createLogger.ts";
import { decodeCheckRequest } from "../src/transport/decodeCheckRequest.ts";
import { buildCheckRequest } from "./buildCheckRequest.ts";
import { createBenchIdentity, type BenchIdentity } from "./createBenchIdentity.ts";
import { startJwksServer } from "./startJwksServer.ts";
import { checkMethodDefinition } from "./checkMethodDefinition.ts";

const iterations = Number(process.argv[process.argv.indexOf("--iterations") + 1]) || 20_000;
const ROUNDS = 5;
const WARMUP = 2_000;
const PATH = "/api/things";
const jwks = await startJwksServer();
const identity = await createBenchIdentity(jwks.issuer, "bench-api");
jwks.setJwks(identity.jwks);

const load = (dpop: boolean): PortcullisConfig => {
  const parsed = parseConfig({
    providers: {
      bench: {
        issuer: jwks.issuer,
        audiences: ["bench-api"],
        algorithms: ["RS256"],
        allowInsecureHttp: true,
        ...(dpop ? { dpop: { enabled: true } } : {}),
      },
    },
    routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
    log: { level: "info" },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
};

/** A DPoP-bound access token for a fresh key of `alg`, and `count` proofs of GET http://localhost/api/things. */
async function dpopClient(alg: "ES256" | "EdDSA", bench: BenchIdentity, count: number): Promise<object[]> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  const now = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({ scope: "openid bench", cnf: { jkt: await calculateJwkThumbprint(jwk) } })
    .setProtectedHeader({ alg: "RS256", kid: bench.kid, typ: "JWT" })
    .setIssuer(bench.issuer)
    .setAudience(bench.audience)
    .setSubject("dpop-user")
    .setIssuedAt(now)
    .setExpirationTime(now + 3600)
    .sign(bench.privateKey);
  const requests: object[] = [];
  for (let i = 0; i < count; i++) {
    const proof = await new SignJWT({
      jti: randomUUID(),
      htm: "GET",
      htu: `http://localhost${PATH}`,
      ath: tokenHash(token),
    })
      .setProtectedHeader({ typ: "dpop+jwt", alg, jwk })
      .setIssuedAt(now)
      .sign(privateKey);
    requests.push(
      buildCheckRequest(null, "localhost", `${PATH}?page=${i % 7}`, { authorization: `DPoP ${token}`, dpop: proof }),
    );
  }
  return requests;
}

const method = checkMethodDefinition;

interface Run {
  readonly name: string;
  /** Runs n checks on the next requests (cycling when there are fewer); resolves with CPU µs per check. */
  run(n: number): Promise<number>;
  readonly counts: { allowed: number; answered: number };
}

async function startRun(name: string, pipeline: CheckPipeline, requests: readonly object[]): Promise<Run> {
  await pipeline.registry.start();
  const wires = requests.map((r) => method.requestSerialize(r));
  const counts = { allowed: 0, answered: 0 };
  let next = 0;
  let resolveCheck: () => void = () => undefined;
  const callback: sendUnaryData<unknown> = (_err, response) => {
    counts.answered += 1;
    // ok_response (tag 0x1a) follows the 4-byte status.
    if ((response as Buffer)[4] === 0x1a) counts.allowed += 1;
    resolveCheck();
  };
  const run = async (n: number) => {
    const started = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const done = new Promise<void>((resolve) => (resolveCheck = resolve));
      const call = { request: decodeCheckRequest(wires[next++ % wires.length]!) } as ServerUnaryCall<never, unknown>;
      pipeline.handlers["Check"]!(call as never, callback);
      await done;
    }
    const used = process.cpuUsage(started);
    return (used.user + used.system) / n;
  };
  return { name, run, counts };
}

const logger = createLogger("warn");
const plain = buildCheckPipeline(load(false), logger);
const withDpop = buildCheckPipeline(load(true), logger);
const perRound = Math.ceil(iterations / ROUNDS);
const bearer = [buildCheckRequest(identity.token, "localhost", `${PATH}?page=1`)];
const runs = [
  await startRun("cached bearer, no DPoP configured", plain, bearer),
  await startRun("cached bearer, DPoP configured", withDpop, bearer),
  await startRun("cached DPoP token, ES256 proof", withDpop, await dpopClient("ES256", identity, WARMUP + iterations)),
  await startRun("cached DPoP token, EdDSA proof", withDpop, await dpopClient("EdDSA", identity, WARMUP + iterations)),
] as const;
for (const r of runs) await r.run(WARMUP);
for (const r of runs) {
  if (r.counts.allowed !== r.counts.answered)
    throw new Error(`${r.name}: ${r.counts.answered - r.counts.allowed} denied`);
  r.counts.allowed = r.counts.answered = 0;
}
const us = new Map<Run, number[]>(runs.map((r) => [r, []]));
for (let round = 0; round < ROUNDS; round++) for (const r of runs) us.get(r)!.push(await r.run(perRound));
for (const r of runs)
  if (r.counts.allowed !== r.counts.answered)
    throw new Error(`${r.name}: ${r.counts.answered - r.counts.allowed} denied`);
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const base = median(us.get(runs[0])!);
console.log(`CPU µs per check (user + system), median of ${ROUNDS} rounds of ${perRound}:`);
for (const r of runs) {
  const m = median(us.get(r)!);
  console.log(`  ${r.name.padEnd(36)} ${m.toFixed(2)} µs (${(m / base).toFixed(2)}x, +${(m - base).toFixed(2)} µs)`);
}
for (const p of [plain, withDpop]) p.registry.close();
await jwks.close();
