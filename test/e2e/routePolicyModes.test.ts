// policy.mode whitelist / blacklist through the real Envoy: each mode answers a set of requests
// exactly as its hand-written rules-mode equivalent does (the listed routes with `auth` filled in,
// then a catch-all `default`), and as the mode promises (whitelist: unlisted needs auth; blacklist:
// unlisted is public). Four stacks, started side by side.

import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack } from "../harness/startStack.ts";
import type { Stack } from "../harness/startStack.ts";

const SHOP = "shop.test";

/** Listed routes of the whitelist config: without `auth` they are public in this mode. */
const WHITELISTED = [
  { name: "health", match: { host: SHOP, pathExact: "/healthz" } },
  { name: "assets", match: { host: SHOP, path: "/assets" } },
  { name: "orders", match: { host: SHOP, path: "/orders" }, auth: "required", require: { scopes: ["api.write"] } },
];
/** The same policy written out in rules mode. */
const WHITELIST_BY_HAND = [
  { name: "health", match: { host: SHOP, pathExact: "/healthz" }, auth: "public" },
  { name: "assets", match: { host: SHOP, path: "/assets" }, auth: "public" },
  { name: "orders", match: { host: SHOP, path: "/orders" }, auth: "required", require: { scopes: ["api.write"] } },
  { name: "default", auth: "required" },
];

/** Listed routes of the blacklist config: without `auth` they require a credential in this mode. */
const BLACKLISTED = [
  { name: "orders", match: { host: SHOP, path: "/orders" }, require: { scopes: ["api.write"] } },
  { name: "account", match: { host: SHOP, path: "/account", methods: ["POST"] } },
  { name: "assets", match: { host: SHOP, path: "/assets" }, auth: "public" },
];
const BLACKLIST_BY_HAND = [
  { name: "orders", match: { host: SHOP, path: "/orders" }, auth: "required", require: { scopes: ["api.write"] } },
  { name: "account", match: { host: SHOP, path: "/account", methods: ["POST"] }, auth: "required" },
  { name: "assets", match: { host: SHOP, path: "/assets" }, auth: "public" },
  { name: "default", auth: "public" },
];

interface Probe {
  readonly host: string;
  readonly path: string;
  readonly method?: string;
  /** Which token to send: none, one without api.write, one with it. */
  readonly token: "none" | "read" | "write";
}

const PROBES: readonly Probe[] = [
  { host: SHOP, path: "/healthz", token: "none" },
  { host: SHOP, path: "/healthz/deep", token: "none" },
  { host: SHOP, path: "/assets/app.js", token: "none" },
  { host: SHOP, path: "/orders/7", token: "none" },
  { host: SHOP, path: "/orders/7", token: "read" },
  { host: SHOP, path: "/orders/7", token: "write" },
  { host: SHOP, path: "/account", token: "none" },
  { host: SHOP, path: "/account", method: "POST", token: "none" },
  { host: SHOP, path: "/account", method: "POST", token: "read" },
  { host: SHOP, path: "/anything/else", token: "none" },
  { host: SHOP, path: "/anything/else", token: "read" },
  { host: "other.test", path: "/orders/7", token: "none" },
  { host: "other.test", path: "/x", method: "DELETE", token: "read" },
];

let whitelist: Stack;
let whitelistByHand: Stack;
let blacklist: Stack;
let blacklistByHand: Stack;

beforeAll(async () => {
  const started = await Promise.allSettled([
    startStack({ routes: WHITELISTED, config: { policy: { mode: "whitelist" } } }),
    startStack({ routes: WHITELIST_BY_HAND }),
    startStack({ routes: BLACKLISTED, config: { policy: { mode: "blacklist" } } }),
    startStack({ routes: BLACKLIST_BY_HAND }),
  ]);
  const failed = started.find((result) => result.status === "rejected");
  [whitelist, whitelistByHand, blacklist, blacklistByHand] = started.map((result) =>
    result.status === "fulfilled" ? result.value : undefined,
  ) as Stack[];
  if (failed !== undefined) throw failed.reason;
});

afterAll(async () => {
  await Promise.all([whitelist, whitelistByHand, blacklist, blacklistByHand].map((stack) => stack?.close()));
});

/** Sends every probe through one stack; the outcome of each is status, denial code and whether the upstream got it. */
async function outcomes(stack: Stack) {
  const tokens = {
    none: undefined,
    read: await stack.idp().mintUserToken("bob", ["openid", "api.read"]),
    write: await stack.idp().mintUserToken("bob", ["openid", "api.read", "api.write"]),
  };
  const results: Array<{ probe: string; status: number; error: unknown; reachedUpstream: boolean }> = [];
  for (const probe of PROBES) {
    const marker = randomUUID();
    const token = tokens[probe.token];
    const res = await stack.request(probe.path, {
      method: probe.method ?? "GET",
      headers: {
        host: probe.host,
        "x-test-marker": marker,
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      },
    });
    results.push({
      probe: `${probe.method ?? "GET"} ${probe.host}${probe.path} token=${probe.token}`,
      status: res.status,
      error: (res.json as { error?: unknown } | undefined)?.error ?? null,
      reachedUpstream: stack.upstream.requests().some((r) => r.headers["x-test-marker"] === marker),
    });
  }
  return results;
}

const statusOf = (results: Awaited<ReturnType<typeof outcomes>>, probe: string) =>
  results.find((r) => r.probe === probe)?.status;

describe("policy.mode whitelist", () => {
  it("answers every probe as the hand-written rules (listed routes public, then `default` requiring auth)", async () => {
    const [byMode, byHand] = await Promise.all([outcomes(whitelist), outcomes(whitelistByHand)]);
    expect(byMode).toEqual(byHand);
    // And that shared answer is the whitelist's promise.
    expect(statusOf(byMode, "GET shop.test/healthz token=none")).toBe(200);
    expect(statusOf(byMode, "GET shop.test/healthz/deep token=none")).toBe(401);
    expect(statusOf(byMode, "GET shop.test/assets/app.js token=none")).toBe(200);
    expect(statusOf(byMode, "GET shop.test/orders/7 token=read")).toBe(403);
    expect(statusOf(byMode, "GET shop.test/orders/7 token=write")).toBe(200);
    expect(statusOf(byMode, "GET shop.test/anything/else token=none")).toBe(401);
    expect(statusOf(byMode, "GET shop.test/anything/else token=read")).toBe(200);
    expect(statusOf(byMode, "GET other.test/orders/7 token=none")).toBe(401);
  });

  it("counts the unlisted requests under the route name `default`", async () => {
    const before = await whitelist.metric("portcullis_checks_total", { route: "default", reason: "token_missing" });
    expect((await whitelist.request("/unlisted", { headers: { host: SHOP } })).status).toBe(401);
    expect(await whitelist.metric("portcullis_checks_total", { route: "default", reason: "token_missing" })).toBe(
      before + 1,
    );
  });
});

describe("policy.mode blacklist", () => {
  it("answers every probe as the hand-written rules (listed routes required, then `default` public)", async () => {
    const [byMode, byHand] = await Promise.all([outcomes(blacklist), outcomes(blacklistByHand)]);
    expect(byMode).toEqual(byHand);
    expect(statusOf(byMode, "GET shop.test/healthz/deep token=none")).toBe(200);
    expect(statusOf(byMode, "GET shop.test/orders/7 token=none")).toBe(401);
    expect(statusOf(byMode, "GET shop.test/orders/7 token=read")).toBe(403);
    expect(statusOf(byMode, "GET shop.test/orders/7 token=write")).toBe(200);
    expect(statusOf(byMode, "GET shop.test/account token=none")).toBe(200);
    expect(statusOf(byMode, "POST shop.test/account token=none")).toBe(401);
    expect(statusOf(byMode, "POST shop.test/account token=read")).toBe(200);
    expect(statusOf(byMode, "GET other.test/orders/7 token=none")).toBe(200);
  });

  it("strips client-sent identity headers on requests that fall to the public `default`", async () => {
    const marker = randomUUID();
    const res = await blacklist.request("/anything", {
      headers: { host: SHOP, "x-test-marker": marker, "x-user-sub": "attacker", "x-client-id": "attacker" },
    });
    expect(res.status).toBe(200);
    const seen = blacklist.upstream.requests().find((r) => r.headers["x-test-marker"] === marker);
    expect(seen).toBeDefined();
    expect(seen?.headers["x-user-sub"]).toBeUndefined();
    expect(seen?.headers["x-client-id"]).toBeUndefined();
  });
});
