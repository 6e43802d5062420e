// A shadow rule on two `portcullis serve` replicas behind the shipped envoy/replicas.yaml, sharing a
// real Redis: each replica lets through, on the next rule's decision, what the stricter shadow rule
// would deny, and counts the would-be denial on its own /metrics; a caller who meets the shadow
// rule's requirements is counted nowhere; and a token the IdP logged out is refused by the deciding
// rule at every replica, the shadow rule not letting it through.
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSigningJwk } from "../../src/demo/startDevIdp.ts";
import { loadScaledMs } from "../harness/loadScaledMs.ts";
import { replicaIdpTokens, type ReplicaIdpTokens } from "../harness/replicaIdpTokens.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { startReplicaStack, type ReplicaStack } from "../harness/startReplicaStack.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const hasEnvoy = process.env["ENVOY_BIN"] !== undefined;
const SHADOW_DENIAL = { route: "api-admins", code: "requirement_failed" };

describe.runIf(hasEnvoy)("a shadow rule on two replicas sharing Redis, through Envoy", () => {
  let redis: TestRedis;
  let stack: ReplicaStack;
  let t: ReplicaIdpTokens;

  beforeAll(async () => {
    redis = await startRedis();
    const key = await createSigningJwk();
    stack = await startReplicaStack({
      replicas: 2,
      login: true,
      signingKeys: [key],
      routes: [
        {
          name: "api-admins",
          mode: "shadow",
          match: { path: "/api" },
          auth: "required",
          require: { roles: { anyOf: ["admin"] } },
        },
        { name: "api", match: { path: "/api" }, auth: "required" },
        { name: "public", match: { path: "/public" }, auth: "public" },
      ],
      config: { redis: { url: redis.url, commandTimeoutMs: 2000 }, shutdown: { graceSeconds: 2, drainSeconds: 0 } },
    });
    t = replicaIdpTokens(stack, key);
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await redis?.close();
  });

  const shadowDenials = () => t.metricOnEach("portcullis_shadow_denials_total", SHADOW_DENIAL);

  /** Sends the token through Envoy in batches of 4 until `done` holds (or 20 batches); every answer must be `status`. */
  async function sendUntil(token: string, status: number, done: () => Promise<boolean>): Promise<boolean> {
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => stack.request("/api/orders", { authorization: `Bearer ${token}` })),
      );
      expect(answers.map((res) => res.status)).toEqual([status, status, status, status]);
      if (await done()) return true;
    }
    return false;
  }

  it("lets a caller the shadow rule would deny through on every replica, and each replica counts the would-be denial", async () => {
    const token = await t.accessToken({ sub: "bob", sid: "sid-bob" });
    const before = await shadowDenials();
    const counted = await sendUntil(token, 200, async () => (await shadowDenials()).every((n, i) => n > before[i]!));
    expect(counted).toBe(true);
    const log = (await Promise.all(stack.replicas.map((r) => readFile(r.logFile, "utf8")))).join("\n");
    const line = log.split("\n").find((l) => l.includes('"msg":"shadow rule would deny"'));
    expect(line).toBeDefined();
    expect(JSON.parse(line!)).toMatchObject({ route: "api-admins", code: "requirement_failed" });
    expect(log).not.toContain(token.split(".")[1]!);
  }, 90_000);

  it("counts nothing on any replica for a caller who meets the shadow rule's requirements", async () => {
    const admin = await t.accessToken({ sub: "alice", sid: "sid-alice", roles: ["admin"] });
    const before = await shadowDenials();
    const allowed = () =>
      t.metricOnEach("portcullis_checks_total", {
        decision: "allow",
        reason: "authenticated",
        route: "api",
      });
    const allowedBefore = await allowed();
    expect(await sendUntil(admin, 200, async () => (await allowed()).every((n, i) => n > allowedBefore[i]!))).toBe(
      true,
    );
    expect(await shadowDenials()).toEqual(before);
  }, 90_000);

  it("refuses at every replica a token whose sid the IdP logged out at replica 1: the shadow rule lets nothing through", async () => {
    const token = await t.accessToken({ sub: "carol", sid: "sid-carol" });
    expect((await stack.request("/api/orders", { authorization: `Bearer ${token}` })).status).toBe(200);
    expect(await t.logout(0, { sid: "sid-carol" })).toBe(200);
    const refusedEverywhere = await waitUntil(async () => {
      const answers = await Promise.all(
        Array.from({ length: 4 }, () => stack.request("/api/orders", { authorization: `Bearer ${token}` })),
      );
      return answers.every((res) => res.status === 401);
    }, loadScaledMs(2_000));
    expect(refusedEverywhere).toBe(true);
    const revoked = () =>
      t.metricOnEach("portcullis_checks_total", {
        decision: "deny",
        reason: "token_revoked",
        route: "api",
      });
    expect(await sendUntil(token, 401, async () => (await revoked()).every((n) => n > 0))).toBe(true);
  }, 90_000);
});
