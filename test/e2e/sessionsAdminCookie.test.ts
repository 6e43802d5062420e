// The admin API with cookie sessions: two replicas behind Envoy keep sessions in sealed cookies and
// share only their revocations through a real Redis. Listing cannot work (the sessions live in the
// browsers) and says so with a stable code; ending all of a user's sessions through one replica
// still refuses that user's cookie on every replica, and a login after it works again.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScaledMs } from "../harness/loadScaledMs.ts";
import { adminReplicaStackOptions } from "../harness/adminReplicaStackOptions.ts";
import { adminCall, answersOnEveryReplica, loginForCookie } from "../harness/replicaSessionAnswers.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { startReplicaStack, type ReplicaStack } from "../harness/startReplicaStack.ts";
import { startWithBrowser, type StackWithBrowser } from "../harness/startWithBrowser.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const hasEnvoy = process.env["ENVOY_BIN"] !== undefined;
const TOKEN = randomBytes(32).toString("base64url");
const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const BROWSER = "Mozilla/5.0 (X11; Linux x86_64) PortcullisTest/cookie";

describe.runIf(hasEnvoy)("the session admin API with cookie sessions", () => {
  let redis: TestRedis;
  let stack: ReplicaStack;
  let browser: StartedBrowser;
  let running: StackWithBrowser<ReplicaStack> | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    running = await startWithBrowser(() => startReplicaStack(adminReplicaStackOptions(redis.url, "cookie", TOKEN)));
    ({ stack, browser } = running);
  }, 180_000);

  afterAll(async () => {
    await running?.close();
    await redis?.close();
  });

  it("answers a listing 409 sessions_not_listable, also through portcullis sessions list", async () => {
    const listing = await adminCall(stack, 0, "GET", "/admin/sessions?sub=alice", { token: TOKEN });
    expect([listing.status, listing.body["error"]]).toEqual([409, "sessions_not_listable"]);
    const cli = spawnSync(
      process.execPath,
      [
        "--disable-warning=ExperimentalWarning",
        MAIN,
        "sessions",
        "list",
        "--sub",
        "alice",
        "--admin",
        `http://127.0.0.1:${stack.replicas[0]!.ports.admin}`,
      ],
      { encoding: "utf8", timeout: 20_000, env: { ...process.env, PORTCULLIS_ADMIN_TOKEN: TOKEN } },
    );
    expect(cli.status).toBe(1);
    expect(cli.stderr).toBe(
      "portcullis sessions: 409 sessions_not_listable: listing sessions needs the Redis session store (session.store is cookie)\n",
    );
  });

  it("ends all of a user's cookie sessions through replica 2: the cookie is refused on both replicas, a new login passes", async () => {
    const before = await loginForCookie(browser, stack, "alice", BROWSER);
    expect(await answersOnEveryReplica(stack, before, 200)).toBe(true);
    const ended = await adminCall(stack, 1, "POST", "/admin/users/revoke", {
      token: TOKEN,
      body: { sub: "alice", provider: "demo" },
    });
    expect(ended.status).toBe(200);
    expect(ended.body).toMatchObject({ sub: "alice", providers: ["demo"], sessionsDeleted: 0, everyReplica: true });
    // Every replica learns it by pub/sub: within moments, stretched on a loaded machine.
    expect(await waitUntil(() => answersOnEveryReplica(stack, before, 401), loadScaledMs(5_000))).toBe(true);
    // Sessions are refused when created at or before the revocation's second: the next login is a later one.
    const revokedAt = ended.body["revokedAt"] as number;
    expect(await waitUntil(async () => Date.now() / 1000 >= revokedAt + 1, 5_000)).toBe(true);
    const after = await loginForCookie(browser, stack, "alice", BROWSER);
    expect(await answersOnEveryReplica(stack, after, 200)).toBe(true);
  }, 90_000);
});
