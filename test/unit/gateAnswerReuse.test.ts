// A bearer token's plain answer on a route is kept only once the token comes back: its first check
// (verified, not from the token cache) gets an answer made for that check alone, and from its
// second (a token-cache hit) on, one frozen answer is made, kept and handed out again, so the hot
// path allocates no answer while a flood of one-time tokens leaves none behind. Anything that makes
// a request's answer its own (a header the route removes, another route, another credential) still
// gets its own, and a kept answer cannot be changed.
import { describe, expect, it } from "vitest";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { checkResponseBytes } from "../../src/transport/checkResponseBytes.ts";
import { removalsOf } from "../harness/checkOutcome.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";

const routes: RouteConfig[] = [
  { name: "open", match: { hosts: [], path: "/open" }, auth: "public", providers: [] },
  { name: "maybe", match: { hosts: [], path: "/maybe" }, auth: "optional", providers: [] },
  { name: "admin", match: { hosts: [], path: "/admin" }, auth: "required", providers: [] },
  { name: "api", match: { hosts: [], path: "/" }, auth: "required", providers: [] },
];
const alice: VerifyOutcome = { ok: true, provider: "corp", claims: { sub: "alice", exp: 2e9 }, expiresAt: 2e9 };
const bob: VerifyOutcome = { ok: true, provider: "corp", claims: { sub: "bob", exp: 2e9 }, expiresAt: 2e9 };
const gate = () => gateOver({ routes, tokens: { alice, bob }, tokenCache: true }).gate;
const asAlice = { authorization: "Bearer alice" };

describe("the gate's reused answers", () => {
  it("answers a token's first check with an answer of its own that is not kept", async () => {
    const g = gate();
    const first = await g.decide(checkRequest("/api/a", asAlice));
    expect(first).toMatchObject({ kind: "allow", route: "api", provider: "corp", caller: { id: "alice" } });
    // Not frozen: the transport encodes it for this check and keeps no bytes for it either.
    expect(Object.isFrozen(first)).toBe(false);
    expect(checkResponseBytes(first)).not.toBe(checkResponseBytes(first));
    const second = await g.decide(checkRequest("/api/b", asAlice));
    expect(second).not.toBe(first);
    expect(second).toEqual(first);
  });

  it("keeps one frozen answer from the token's second check, from the token cache, and reuses it from then on", async () => {
    const g = gate();
    await g.decide(checkRequest("/api/a", asAlice));
    const second = await g.decide(checkRequest("/api/b", asAlice));
    expect(Object.isFrozen(second)).toBe(true);
    expect(await g.decide(checkRequest("/api/c", asAlice))).toBe(second);
    expect(await g.decide(checkRequest("/api/d", asAlice))).toBe(second);
    // Its bytes are encoded once and kept beside it.
    expect(checkResponseBytes(second)).toBe(checkResponseBytes(second));
  });

  it("keeps nothing for a verifier without a token cache: every check's answer is its own", async () => {
    const { gate: g } = gateOver({ routes, tokens: { alice } });
    const first = await g.decide(checkRequest("/api/a", asAlice));
    const second = await g.decide(checkRequest("/api/a", asAlice));
    expect(second).not.toBe(first);
    expect(Object.isFrozen(second)).toBe(false);
    expect(second).toEqual(first);
  });

  it("gives another route and another credential answers of their own", async () => {
    const g = gate();
    const api = await g.decide(checkRequest("/api/a", asAlice));
    const keptApi = await g.decide(checkRequest("/api/a", asAlice));
    const admin = await g.decide(checkRequest("/admin/a", asAlice));
    const keptAdmin = await g.decide(checkRequest("/admin/a", asAlice));
    await g.decide(checkRequest("/api/a", { authorization: "Bearer bob" }));
    const asBob = await g.decide(checkRequest("/api/a", { authorization: "Bearer bob" }));
    expect(admin).toMatchObject({ route: "admin" });
    expect(keptAdmin).not.toBe(keptApi);
    expect(keptAdmin).toMatchObject({ route: "admin" });
    expect(asBob).not.toBe(keptApi);
    expect(asBob).toMatchObject({ route: "api", caller: { id: "bob" } });
    // Both routes' kept answers stay kept for the one credential.
    expect(await g.decide(checkRequest("/api/b", asAlice))).toBe(keptApi);
    expect(await g.decide(checkRequest("/admin/b", asAlice))).toBe(keptAdmin);
    expect(api).toEqual(keptApi);
  });

  it("still removes a steering header a request carries, on a first check and after an answer was kept", async () => {
    const g = gate();
    const steering = { ...asAlice, "x-forwarded-host": "evil.example.com" };
    const firstSteered = await g.decide(checkRequest("/api/a", steering));
    expect(removalsOf(firstSteered)).toContain("x-forwarded-host");
    const plain = await g.decide(checkRequest("/api/a", asAlice));
    expect(Object.isFrozen(plain)).toBe(true);
    expect(removalsOf(plain)).not.toContain("x-forwarded-host");
    const steered = await g.decide(checkRequest("/api/a", steering));
    expect(steered).not.toBe(plain);
    expect(removalsOf(steered)).toContain("x-forwarded-host");
    expect(await g.decide(checkRequest("/api/a", asAlice))).toBe(plain);
  });

  it("reuses a public or optional route's answer without a credential, and not across them", async () => {
    const g = gate();
    const open = await g.decide(checkRequest("/open/x", {}));
    expect(await g.decide(checkRequest("/open/y", {}))).toBe(open);
    const maybe = await g.decide(checkRequest("/maybe/x", {}));
    expect(maybe).toMatchObject({ kind: "allow", route: "maybe", reason: "anonymous" });
    expect(maybe).not.toBe(open);
    const steered = await g.decide(checkRequest("/open/x", { "x-original-url": "/admin" }));
    expect(removalsOf(steered)).toContain("x-original-url");
  });
});
