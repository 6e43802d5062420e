// A cached credential's checks on one route get one answer object, made once, so the hot path
// allocates no answer; anything that makes a request's answer its own (a header the route removes,
// another route, another credential) still gets its own, and a reused answer cannot be changed.
import { describe, expect, it } from "vitest";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
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
const gate = () => gateOver({ routes, tokens: { alice, bob } }).gate;
const asAlice = { authorization: "Bearer alice" };

describe("the gate's reused answers", () => {
  it("answers one credential's repeated checks on a route with the same frozen answer", async () => {
    const g = gate();
    const first = await g.decide(checkRequest("/api/a", asAlice));
    const second = await g.decide(checkRequest("/api/b", asAlice));
    expect(first).toMatchObject({ kind: "allow", route: "api", provider: "corp", caller: { id: "alice" } });
    expect(second).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
  });

  it("gives another route and another credential answers of their own", async () => {
    const g = gate();
    const api = await g.decide(checkRequest("/api/a", asAlice));
    const admin = await g.decide(checkRequest("/admin/a", asAlice));
    const asBob = await g.decide(checkRequest("/api/a", { authorization: "Bearer bob" }));
    expect(admin).not.toBe(api);
    expect(admin).toMatchObject({ route: "admin" });
    expect(asBob).not.toBe(api);
    expect(asBob).toMatchObject({ route: "api", caller: { id: "bob" } });
  });

  it("still removes a steering header a request carries after a plain answer was reused", async () => {
    const g = gate();
    const plain = await g.decide(checkRequest("/api/a", asAlice));
    expect(removalsOf(plain)).not.toContain("x-forwarded-host");
    const steered = await g.decide(checkRequest("/api/a", { ...asAlice, "x-forwarded-host": "evil.example.com" }));
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
