// DPoP proofs across replicas (RFC 9449 §11.1): two `portcullis serve` replicas behind the shipped
// envoy/replicas.yaml share a real Redis, so a proof accepted at one replica is refused when it is
// replayed at the other; they share a nonce secret, so a nonce one gives out is accepted by the
// other (§8); while Redis does not answer, a DPoP check fails closed with 503, and once it answers
// again fresh proofs pass.
import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDpopClient, type DpopClient } from "../harness/dpopClient.ts";
import { readMetric } from "../harness/readMetric.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { startReplicaStack, type Replica, type ReplicaStack } from "../harness/startReplicaStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";

let redis: TestRedis;
let stack: ReplicaStack;
let dpop: DpopClient;
let accessToken: string;
/** The server nonce every proof carries, and the replica that gave it out. */
let nonce: string;
let nonceReplica: number;

beforeAll(async () => {
  redis = await startRedis();
  stack = await startReplicaStack({
    replicas: 2,
    provider: { dpop: { enabled: true, nonce: { required: true, secret: randomBytes(32).toString("base64url") } } },
    extraAllowedHeaders: ["dpop"],
    config: { redis: { url: redis.url, commandTimeoutMs: 500 } },
  });
  dpop = await startDpopClient(stack.idp(), stack.origin, stack.ca);
  accessToken = (await dpop.token()).accessToken;
  const asked = () => Promise.all(stack.replicas.map((r) => checks(r, "deny", "use_dpop_nonce")));
  const before = await asked();
  const first = await send(await dpop.proof(accessToken, "/api/things"));
  expect(first.status).toBe(401);
  expect(errorOf(first)).toBe("use_dpop_nonce");
  nonce = String(first.headers["dpop-nonce"]);
  const after = await asked();
  nonceReplica = stack.replicas.findIndex((_r, i) => after[i]! > before[i]!);
  expect(nonceReplica).not.toBe(-1);
}, 120_000);

/** A fresh proof of GET /api/things carrying the servers' nonce. */
const proofWithNonce = () => dpop.proof(accessToken, "/api/things", { nonce });

afterAll(async () => {
  redis?.resume();
  await stack?.close();
  await redis?.close();
});

/** GET through Envoy with the bound token and `proof`, as a client addressing the origin sends it. */
function send(proof: string) {
  return stack.request("/api/things", {
    host: new URL(stack.origin).host,
    authorization: `DPoP ${accessToken}`,
    dpop: proof,
    "x-test-marker": randomUUID(),
  });
}

/** One replica's count of checks with this decision and reason. */
async function checks(replica: Replica, decision: string, reason: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${replica.ports.admin}/metrics`, { signal: AbortSignal.timeout(2000) });
  return readMetric(await res.text(), "portcullis_checks_total", { decision, reason });
}

const errorOf = (res: { json: unknown }) => (res.json as { error?: unknown } | undefined)?.error;

describe("DPoP proofs with replicas sharing Redis", () => {
  it("refuses at the other replica a proof one replica accepted", async () => {
    const allowsBefore = await Promise.all(stack.replicas.map((r) => checks(r, "allow", "authenticated")));
    const proof = await proofWithNonce();
    expect((await send(proof)).status).toBe(200);
    const allowsAfter = await Promise.all(stack.replicas.map((r) => checks(r, "allow", "authenticated")));
    const accepting = stack.replicas.findIndex((_r, i) => allowsAfter[i]! > allowsBefore[i]!);
    expect(accepting).not.toBe(-1);
    const other = stack.replicas[1 - accepting]!;
    const refusedBefore = await checks(other, "deny", "invalid_dpop_proof");

    // Envoy picks the replica; replay until the other one has answered, each replay refused.
    const replays: string[] = [];
    const reachedOther = await waitUntil(async () => {
      const replay = await send(proof);
      replays.push(`${replay.status} ${String(errorOf(replay))}`);
      return (await checks(other, "deny", "invalid_dpop_proof")) > refusedBefore;
    }, 20_000);
    expect(reachedOther).toBe(true);
    expect(new Set(replays)).toEqual(new Set(["401 invalid_dpop_proof"]));
  });

  it("accepts at the other replica the nonce one replica gave out", async () => {
    const other = stack.replicas[1 - nonceReplica]!;
    const allowsBefore = await checks(other, "allow", "authenticated");
    const statuses: number[] = [];
    const reachedOther = await waitUntil(async () => {
      statuses.push((await send(await proofWithNonce())).status);
      return (await checks(other, "allow", "authenticated")) > allowsBefore;
    }, 20_000);
    expect(reachedOther).toBe(true);
    expect(new Set(statuses)).toEqual(new Set([200]));
  });

  it("fails closed with 503 while Redis does not answer, and lets fresh proofs through once it does", async () => {
    redis.pause();
    try {
      const res = await send(await proofWithNonce());
      expect(res.status).toBe(503);
      expect(errorOf(res)).toBe("dpop_replay_unavailable");
    } finally {
      redis.resume();
    }
    const back = await waitUntil(async () => (await send(await proofWithNonce())).status === 200, 20_000);
    expect(back).toBe(true);
  });
});
