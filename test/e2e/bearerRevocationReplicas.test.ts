// Back-channel logout ends API tokens too, end to end: `portcullis serve` replicas behind the shipped
// envoy/replicas.yaml, the dev IdP (whose signing key the test holds, to sign access tokens with the
// `sid` and `iat` it needs and logout tokens as the IdP would), and a real Redis sharing the
// revocation list. A logout posted at replica 1 refuses the token at every replica through Envoy,
// also where the token was cached; the same runs on one replica without Redis (in memory).
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk, type SigningJwk } from "../../src/demo/startDevIdp.ts";
import type { HttpsResponse } from "../harness/httpsRequest.ts";
import { loadScaledMs } from "../harness/loadScaledMs.ts";
import { replicaIdpTokens } from "../harness/replicaIdpTokens.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { startReplicaStack, type ReplicaStack } from "../harness/startReplicaStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const hasEnvoy = process.env["ENVOY_BIN"] !== undefined;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The dev IdP's tokens, and a way to drive checks through Envoy until every replica answered. */
function tokensFor(stack: ReplicaStack, key: SigningJwk) {
  const idpTokens = replicaIdpTokens(stack, key);
  return {
    ...idpTokens,
    /**
     * Sends the token through Envoy in batches until every replica has answered it as `outcome` at
     * least `times` more times (Envoy picks the replica), checking each answer; false if a batch
     * brought an answer of another kind or twenty batches did not reach every replica.
     */
    async answeredEverywhere(
      token: string,
      outcome: "allow" | "token_revoked",
      times = 1,
      check: (res: HttpsResponse) => void = () => undefined,
    ): Promise<boolean> {
      const labels =
        outcome === "allow"
          ? { decision: "allow", reason: "authenticated", route: "api" }
          : { decision: "deny", reason: "token_revoked", route: "api" };
      const count = () => idpTokens.metricOnEach("portcullis_checks_total", labels);
      const before = await count();
      for (let batch = 0; batch < 20; batch++) {
        const answers = await Promise.all(
          Array.from({ length: 4 }, () => stack.request("/api/orders", { authorization: `Bearer ${token}` })),
        );
        for (const res of answers) {
          if (res.status !== (outcome === "allow" ? 200 : 401)) return false;
          check(res);
        }
        const after = await count();
        if (after.every((n, i) => n - before[i]! >= times)) return true;
      }
      return false;
    },
  };
}

/** What every refusal of a revoked token carries: 401, RFC 6750's challenge, our code. */
function expectRevokedAnswer(res: HttpsResponse): void {
  expect(res.status).toBe(401);
  expect(res.headers["www-authenticate"]).toBe(
    'Bearer realm="portcullis", error="invalid_token", error_description="the token has been revoked"',
  );
  expect(res.json).toEqual({ error: "token_revoked", error_description: "the token has been revoked" });
}

describe.runIf(hasEnvoy)("bearer tokens after a back-channel logout, two replicas sharing Redis", () => {
  let redis: TestRedis;
  let stack: ReplicaStack;
  let t: ReturnType<typeof tokensFor>;

  beforeAll(async () => {
    redis = await startRedis();
    const key = await createSigningJwk();
    stack = await startReplicaStack({
      replicas: 2,
      login: true,
      signingKeys: [key],
      config: { redis: { url: redis.url, commandTimeoutMs: 2000 }, shutdown: { graceSeconds: 2, drainSeconds: 0 } },
    });
    t = tokensFor(stack, key);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await redis?.close();
  });

  it("refuses at replica 2, through Envoy and from its token cache, a token whose sid was logged out at replica 1, and lets the user's other sid pass", async () => {
    const revoked = await t.accessToken({ sub: "alice", sid: "sid-a" });
    const other = await t.accessToken({ sub: "alice", sid: "sid-b" });
    // Each replica verifies the token, then answers it from its token cache with the kept answer.
    expect(await t.answeredEverywhere(revoked, "allow", 3)).toBe(true);

    expect(await t.logout(0, { sid: "sid-a" })).toBe(200);
    const loggedOutAt = Date.now();
    // Replica 1 refuses at once; replica 2 once Redis has published the logout to it.
    const limit = loadScaledMs(1_000);
    const refused = await waitUntil(async () => {
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => stack.request("/api/orders", { authorization: `Bearer ${revoked}` })),
      );
      return answers.every((res) => res.status === 401);
    }, limit);
    expect(refused).toBe(true);
    expect(Date.now() - loggedOutAt).toBeLessThan(limit);
    expect(await t.answeredEverywhere(revoked, "token_revoked", 1, expectRevokedAnswer)).toBe(true);
    expect(await t.answeredEverywhere(other, "allow")).toBe(true);

    const log = await readFile(stack.replicas[1]!.logFile, "utf8");
    const line = log.split("\n").find((l) => l.includes('"code":"token_revoked"'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ msg: "request denied", status: 401, provider: "demo", route: "api" });
    expect(log).not.toContain(revoked.split(".")[1]!);
    expect(log).not.toContain("sid-a");
  }, 90_000);

  it("refuses a user's tokens issued before a sub-only logout at every replica and accepts one issued after it", async () => {
    const beforeWithoutSid = await t.accessToken({ sub: "bob" });
    const beforeWithSid = await t.accessToken({ sub: "bob", sid: "sid-c", iat: nowSeconds() - 5 });
    const carol = await t.accessToken({ sub: "carol", iat: nowSeconds() - 5 });
    expect(await t.answeredEverywhere(beforeWithoutSid, "allow", 2)).toBe(true);

    expect(await t.logout(0, { sub: "bob" })).toBe(200);
    // Issued after the logout: its iat is later than the logout's second (within the clock tolerance).
    const after = await t.accessToken({ sub: "bob", iat: nowSeconds() + 5 });
    const refused = await waitUntil(async () => {
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => stack.request("/api/orders", { authorization: `Bearer ${beforeWithoutSid}` })),
      );
      return answers.every((res) => res.status === 401);
    }, loadScaledMs(1_000));
    expect(refused).toBe(true);
    expect(await t.answeredEverywhere(beforeWithoutSid, "token_revoked", 1, expectRevokedAnswer)).toBe(true);
    expect(await t.answeredEverywhere(beforeWithSid, "token_revoked", 1, expectRevokedAnswer)).toBe(true);
    expect(await t.answeredEverywhere(after, "allow")).toBe(true);
    expect(await t.answeredEverywhere(carol, "allow")).toBe(true);
  }, 90_000);
});

describe.runIf(hasEnvoy)("bearer tokens after a back-channel logout, one replica without Redis", () => {
  let stack: ReplicaStack;
  let t: ReturnType<typeof tokensFor>;

  beforeAll(async () => {
    const key = await createSigningJwk();
    stack = await startReplicaStack({
      replicas: 1,
      login: true,
      signingKeys: [key],
      config: { shutdown: { graceSeconds: 2, drainSeconds: 0 } },
    });
    t = tokensFor(stack, key);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  it("refuses a cached token from the first request after its sid's logout, and keeps the other sid's token", async () => {
    const revoked = await t.accessToken({ sub: "alice", sid: "sid-a" });
    const other = await t.accessToken({ sub: "alice", sid: "sid-b" });
    expect(await t.answeredEverywhere(revoked, "allow", 3)).toBe(true);
    expect(await t.logout(0, { sid: "sid-a" })).toBe(200);
    // No waiting: the replica that recorded the logout refuses the very next request.
    expectRevokedAnswer(await stack.request("/api/orders", { authorization: `Bearer ${revoked}` }));
    expect(await t.answeredEverywhere(other, "allow")).toBe(true);
  }, 90_000);
});
