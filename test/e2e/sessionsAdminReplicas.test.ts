// The admin API across replicas: two `portcullis serve` replicas behind one Envoy sharing sessions
// in a real Redis, a real Chromium logging the same user in twice (two browsers, told apart by
// their User-Agent digest) and another user once. Listing on replica 1 shows both sessions; ending
// one there refuses its cookie on every replica; ending all of the user's sessions through replica 2
// refuses the other cookie everywhere and leaves the other user alone. `portcullis sessions` runs
// against the same replicas.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { digestUserAgent } from "../../src/session/redisSessionSummary.ts";
import { readMetric } from "../harness/readMetric.ts";
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
const LAPTOP = "Mozilla/5.0 (X11; Linux x86_64) PortcullisTest/laptop";
const PHONE = "Mozilla/5.0 (Linux; Android 14) PortcullisTest/phone";

interface Listed {
  readonly handle: string;
  readonly provider: string;
  readonly createdAt: number;
  readonly lastSeenAt: number | null;
  readonly expiresAt: number;
  readonly userAgentDigest: string | null;
}

describe.runIf(hasEnvoy)("the session admin API across replicas (Redis store)", () => {
  let redis: TestRedis;
  let stack: ReplicaStack;
  let browser: StartedBrowser;
  let running: StackWithBrowser<ReplicaStack> | undefined;
  const cookies = { laptop: "", phone: "", bob: "" };

  const sessions = (args: string[], token: string | null = TOKEN, replica = 0) =>
    spawnSync(
      process.execPath,
      [
        "--disable-warning=ExperimentalWarning",
        MAIN,
        "sessions",
        ...args,
        "--admin",
        `http://127.0.0.1:${stack.replicas[replica]!.ports.admin}`,
      ],
      {
        encoding: "utf8",
        timeout: 20_000,
        env: { ...process.env, PORTCULLIS_ADMIN_TOKEN: token ?? "" },
      },
    );

  beforeAll(async () => {
    redis = await startRedis();
    running = await startWithBrowser(() => startReplicaStack(adminReplicaStackOptions(redis.url, "redis", TOKEN)));
    ({ stack, browser } = running);
    cookies.laptop = await loginForCookie(browser, stack, "alice", LAPTOP);
    cookies.phone = await loginForCookie(browser, stack, "alice", PHONE);
    cookies.bob = await loginForCookie(browser, stack, "bob", LAPTOP);
  }, 180_000);

  afterAll(async () => {
    await running?.close();
    await redis?.close();
  });

  it("refuses a missing or wrong admin token with 401 and counts it", async () => {
    const missing = await adminCall(stack, 0, "GET", "/admin/sessions?sub=alice", { token: null });
    const wrong = await adminCall(stack, 1, "GET", "/admin/sessions?sub=alice", { token: `${TOKEN}x` });
    expect([missing.status, missing.body["error"]]).toEqual([401, "admin_token_invalid"]);
    expect([wrong.status, wrong.body["error"]]).toEqual([401, "admin_token_invalid"]);
    const cli = sessions(["list", "--sub", "alice"], "not-the-admin-token");
    expect(cli.status).toBe(1);
    expect(cli.stderr).toContain("401 admin_token_invalid");
    const res = await fetch(`http://127.0.0.1:${stack.replicas[1]!.ports.admin}/metrics`);
    expect(readMetric(await res.text(), "portcullis_admin_actions_total", { result: "unauthorized" })).toBe(1);
  });

  it("lists the user's two sessions on replica 1, ends one there, and its cookie is refused on every replica", async () => {
    expect(await answersOnEveryReplica(stack, cookies.laptop, 200)).toBe(true);
    expect(await answersOnEveryReplica(stack, cookies.phone, 200)).toBe(true);
    const listing = await adminCall(stack, 0, "GET", "/admin/sessions?sub=alice&provider=demo", { token: TOKEN });
    expect(listing.status).toBe(200);
    const listed = listing.body["sessions"] as Listed[];
    expect(listed).toHaveLength(2);
    const now = Date.now() / 1000;
    for (const s of listed) {
      expect(s.handle).toMatch(/^demo\.[A-Za-z0-9_-]{16,64}$/);
      expect(s.provider).toBe("demo");
      expect(s.createdAt).toBeGreaterThan(now - 300);
      expect(s.expiresAt).toBeGreaterThan(now);
      // A login counts as the session's first use.
      expect(s.lastSeenAt).toBe(s.createdAt);
    }
    expect(listed.map((s) => s.userAgentDigest).sort()).toEqual(
      [digestUserAgent(LAPTOP), digestUserAgent(PHONE)].sort(),
    );
    // The handle names the session; it is not the cookie.
    for (const s of listed) expect(cookies.laptop + cookies.phone).not.toContain(s.handle.slice(5));

    const laptop = listed.find((s) => s.userAgentDigest === digestUserAgent(LAPTOP))!;
    const ended = await adminCall(stack, 0, "DELETE", `/admin/sessions/${laptop.handle}`, { token: TOKEN });
    expect([ended.status, ended.body]).toEqual([200, { handle: laptop.handle, ended: true }]);
    // Every replica learns it by pub/sub: within moments, stretched on a loaded machine.
    expect(await waitUntil(() => answersOnEveryReplica(stack, cookies.laptop, 401), loadScaledMs(5_000))).toBe(true);
    expect(await answersOnEveryReplica(stack, cookies.phone, 200)).toBe(true);
    const again = await adminCall(stack, 1, "DELETE", `/admin/sessions/${laptop.handle}`, { token: TOKEN });
    expect([again.status, again.body["error"]]).toEqual([404, "session_not_found"]);
  }, 60_000);

  it("prints the user's sessions as a table and as JSON with portcullis sessions list", () => {
    const table = sessions(["list", "--sub", "alice"]);
    expect(table.status).toBe(0);
    const lines = table.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^HANDLE\s+PROVIDER\s+CREATED\s+LAST SEEN\s+EXPIRES\s+USER AGENT$/);
    expect(lines[1]).toMatch(
      new RegExp(`^demo\\.\\S+\\s+demo\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+\\S+Z\\s+\\S+Z\\s+${digestUserAgent(PHONE)}$`),
    );
    expect(lines[2]).toBe('1 session of sub "alice"');
    const json = sessions(["list", "--sub", "alice", "--json"], TOKEN, 1);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ sub: "alice", sessions: [{ provider: "demo" }] });
  });

  it("ends every session of the user through replica 2: the other cookie is refused on both replicas, another user's is not", async () => {
    const revoke = sessions(["revoke", "--sub", "alice", "--provider", "demo"], TOKEN, 1);
    expect(revoke.status, revoke.stderr).toBe(0);
    expect(revoke.stdout).toMatch(
      /^ended every session of sub "alice" at demo created until \S+Z on every replica; 1 stored session\(s\) deleted\n$/,
    );
    // Every replica learns it by pub/sub: within moments, stretched on a loaded machine.
    expect(await waitUntil(() => answersOnEveryReplica(stack, cookies.phone, 401), loadScaledMs(5_000))).toBe(true);
    expect(await answersOnEveryReplica(stack, cookies.bob, 200)).toBe(true);
    const listing = await adminCall(stack, 0, "GET", "/admin/sessions?sub=alice", { token: TOKEN });
    expect(listing.body).toEqual({ sub: "alice", sessions: [] });
    const res = await fetch(`http://127.0.0.1:${stack.replicas[1]!.ports.admin}/metrics`);
    expect(
      readMetric(await res.text(), "portcullis_admin_actions_total", { action: "end_user_sessions", result: "ok" }),
    ).toBe(1);
  }, 60_000);

  it("logs one audit line per admin action, naming the sub and never the admin token", async () => {
    const { readFile } = await import("node:fs/promises");
    const logs =
      (await readFile(stack.replicas[0]!.logFile, "utf8")) + (await readFile(stack.replicas[1]!.logFile, "utf8"));
    expect(logs).not.toContain(TOKEN);
    const actions = logs
      .split("\n")
      .filter((line) => line.includes('"msg":"admin action"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(actions).toContainEqual(
      expect.objectContaining({ admin: "end_user_sessions", by: "admin token", sub: "alice", result: "ok" }),
    );
    expect(actions).toContainEqual(expect.objectContaining({ admin: "end_session", result: "ok" }));
  });
});
