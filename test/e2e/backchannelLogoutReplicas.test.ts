// OIDC back-channel logout end to end: three `portcullis serve` replicas sharing sessions in a real
// Redis behind one Envoy (envoy/replicas.yaml), the dev IdP (oidc-provider) configured to post its
// logout tokens to replica 2 only, and a real Chromium. A login through Envoy gives a session every
// replica honours; signing out at the IdP ends it on every replica within a second.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadScaledMs } from "../harness/loadScaledMs.ts";
import { loginThroughStack } from "../harness/loginThroughStack.ts";
import { readMetric } from "../harness/readMetric.ts";
import type { StartedBrowser } from "../harness/startBrowser.ts";
import { startRedis, type TestRedis } from "../harness/startRedis.ts";
import { startReplicaStack, type ReplicaStack } from "../harness/startReplicaStack.ts";
import { startWithBrowser, type StackWithBrowser } from "../harness/startWithBrowser.ts";
import { waitUntil } from "../harness/waitUntil.ts";

const SESSION_COOKIE = "__Host-portcullis";
const hasEnvoy = process.env["ENVOY_BIN"] !== undefined;

describe.runIf(hasEnvoy)("back-channel logout across replicas", () => {
  let redis: TestRedis;
  let stack: ReplicaStack;
  let browser: StartedBrowser;
  let running: StackWithBrowser<ReplicaStack> | undefined;

  beforeAll(async () => {
    redis = await startRedis();
    running = await startWithBrowser(() =>
      startReplicaStack({
        login: true,
        session: { store: "redis" },
        config: { redis: { url: redis.url, commandTimeoutMs: 2000 }, shutdown: { graceSeconds: 2, drainSeconds: 0 } },
        backchannelLogoutReplica: 1,
      }),
    );
    ({ stack, browser } = running);
  }, 120_000);

  afterAll(async () => {
    await running?.close();
    await redis?.close();
  });

  const metrics = async (index: number) => {
    const res = await fetch(`http://127.0.0.1:${stack.replicas[index]!.ports.admin}/metrics`, {
      signal: AbortSignal.timeout(2000),
    });
    return res.text();
  };

  it("serves a session made through Envoy on every replica, and a logout at the IdP ends it on every replica within one second", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await loginThroughStack(page, stack.origin, "/api/orders", { user: "alice" });
    const cookie = (await context.cookies(stack.origin))
      .filter((c) => c.name === SESSION_COOKIE || c.name.startsWith(`${SESSION_COOKIE}.`))
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
    expect(cookie).not.toBe("");

    // Envoy picks replicas by least requests (random among ties): send batches until every replica
    // has allowed some of them with the session made by whichever replica took the callback.
    const allowed = async () =>
      Promise.all(
        [0, 1, 2].map(async (i) =>
          readMetric(await metrics(i), "portcullis_checks_total", {
            decision: "allow",
            reason: "authenticated",
            route: "api",
          }),
        ),
      );
    const before = await allowed();
    let after = before;
    for (let batch = 0; batch < 10 && after.some((n, i) => n === before[i]); batch++) {
      const answers = await Promise.all(Array.from({ length: 6 }, () => stack.request("/api/orders", { cookie })));
      for (const res of answers) expect(res.status).toBe(200);
      after = await allowed();
    }
    for (let i = 0; i < 3; i++) expect(after[i]! - before[i]!, `replica ${i + 1}`).toBeGreaterThan(0);

    // The user signs out at the IdP itself (not through Portcullis): the IdP posts a logout token to replica 2.
    await page.goto(`${stack.idp().issuer}/session/end`);
    // The IdP posts the logout tokens before it answers the confirmation.
    await Promise.all([page.waitForURL(/\/session\/end\/success/), page.click("#logout-yes")]);
    const loggedOutAt = Date.now();
    // Replica 2 answered 200 only once the revocation was stored (retried within the request if a
    // write timed out); the IdP does not post again, so a 503 here would be a real failure.
    expect(stack.idp().counts.backchannelLogouts).toEqual({ sent: 1, failed: 0 });
    // One second on a quiet machine, stretched by the load average on a starved one.
    const limit = loadScaledMs(1_000);
    const refused = await waitUntil(async () => {
      const answers = await Promise.all(Array.from({ length: 6 }, () => stack.request("/api/orders", { cookie })));
      return answers.every((res) => res.status === 401);
    }, limit);
    expect(refused).toBe(true);
    expect(Date.now() - loggedOutAt).toBeLessThan(limit);
    expect(
      readMetric(await metrics(1), "portcullis_backchannel_logouts_total", { provider: "demo", result: "ok" }),
    ).toBe(1);
    await context.close();
  }, 90_000);

  it("answers a garbage or replayed-shape logout token with 400 and Cache-Control: no-store, and a GET with 405", async () => {
    const url = `http://127.0.0.1:${stack.replicas[0]!.ports.auth}/oauth2/backchannel_logout`;
    const post = (body: string) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
        signal: AbortSignal.timeout(5000),
      });
    for (const body of [
      "logout_token=not.a.jwt",
      "",
      "logout_token=a&logout_token=b",
      `logout_token=${"x".repeat(100)}`,
    ]) {
      const res = await post(body);
      expect(res.status, body.slice(0, 40)).toBe(400);
      expect(res.headers.get("cache-control")).toBe("no-store");
      expect(await res.json()).toMatchObject({ error: "invalid_request" });
    }
    const get = await fetch(url, { signal: AbortSignal.timeout(5000) });
    expect(get.status).toBe(405);
    expect(
      readMetric(await metrics(0), "portcullis_backchannel_logouts_total", {
        provider: "(unknown)",
        result: "invalid",
      }),
    ).toBeGreaterThanOrEqual(2);
  });
});
