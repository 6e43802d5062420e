// The signed identity assertion in the gate's answers: set on the routes that add it, its header
// removed everywhere else (a client-sent value never reaches an upstream), and never served stale by
// the kept answer of a cached credential: that answer, and the bytes the transport keeps for it, are
// made again once the assertion is half-way through its life (the clock injected). Without a key the
// request is refused, never let through unasserted.
import { decodeJwt } from "jose";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createAssertionPipeline } from "../../src/app/createAssertionPipeline.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { Gate, type VerifyOutcome } from "../../src/core/Gate.ts";
import { normalizePath } from "../../src/core/normalizePath.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";
import { createIdentityHeaders } from "../../src/identity/IdentityHeaders.ts";
import { checkResponseBytes } from "../../src/transport/checkResponseBytes.ts";
import { headerOf, outcomeOf, removalsOf } from "../harness/checkOutcome.ts";
import { checkRequest } from "../harness/checkRequest.ts";
import { createManualClock, type ManualClock } from "../harness/createManualClock.ts";

const HEADER = "x-portcullis-assertion";
const T0 = Date.UTC(2026, 11, 7, 9, 0, 0);
const forged = { [HEADER]: "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9." };

function configOf(assertion: Record<string, unknown> = {}): PortcullisConfig {
  const parsed = parseConfig({
    providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
    identity: { assertion: { issuer: "https://auth.example.com", ...assertion } },
    redis: { url: "redis://127.0.0.1:6379" },
    routes: [
      { name: "open", match: { path: "/open" }, auth: "public" },
      { name: "plain", match: { path: "/plain" }, auth: "required" },
      {
        name: "orders",
        match: { path: "/orders" },
        auth: "required",
        assertion: { enabled: true, audience: "orders" },
      },
      { name: "maybe", match: { path: "/maybe" }, auth: "optional", assertion: { enabled: true, audience: "maybe" } },
    ],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

const alice: VerifyOutcome = {
  ok: true,
  provider: "corp",
  claims: Object.freeze({ sub: "alice", roles: ["viewer"], exp: T0 / 1000 + 3600 }),
  expiresAt: T0 / 1000 + 3600,
};

/** A gate over configOf's routes whose verifier knows `Bearer alice`, with a token cache in front. */
function gateOf(clock: ManualClock, config: PortcullisConfig = configOf()): Gate {
  const identity = createIdentityHeaders(config.identity);
  const assertions = createAssertionPipeline(config, identity, { logger: pino({ level: "silent" }), clock });
  let seen = false;
  return new Gate({
    normalizePath,
    routes: new RouteTable(config.routes, config.policy),
    identity,
    assertions,
    clock,
    verifier: {
      async verify(token) {
        seen = token === "alice";
        return seen ? alice : { ok: false, code: "signature_invalid", detail: "unknown" };
      },
      verifyCached: (token) => (seen && token === "alice" ? alice : undefined),
    },
  });
}

const asAlice = { authorization: "Bearer alice" };

describe("the gate's signed identity assertion", () => {
  it("sets the assertion for the route's audience, replacing one the client sent", async () => {
    const clock = createManualClock(T0);
    const answer = await gateOf(clock).decide(checkRequest("/orders/1", { ...asAlice, ...forged }));
    const value = headerOf(answer, HEADER);
    expect(value).not.toBe(forged[HEADER]);
    expect(decodeJwt(value!)).toMatchObject({ iss: "https://auth.example.com", aud: "orders", sub: "alice" });
    // Set, and not also removed (Envoy applies removals after sets).
    expect(removalsOf(answer)).not.toContain(HEADER);
  });

  it("removes a client-sent assertion on routes that add none: public, without assertion, anonymous", async () => {
    const gate = gateOf(createManualClock(T0));
    for (const [path, headers] of [
      ["/open/x", forged],
      ["/plain/x", { ...asAlice, ...forged }],
      ["/maybe/x", forged],
    ] as const) {
      const answer = await gate.decide(checkRequest(path, headers));
      expect(answer.kind, path).toBe("allow");
      expect(headerOf(answer, HEADER), path).toBeUndefined();
      expect(removalsOf(answer), path).toContain(HEADER);
    }
  });

  it("removes it on every route when the assertion is configured nowhere", async () => {
    const config = parseConfig({
      providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
      routes: [{ name: "api", match: { path: "/" }, auth: "required" }],
    });
    if (!config.ok) throw new Error("config");
    const answer = await gateOf(createManualClock(T0), config.config).decide(
      checkRequest("/x", { ...asAlice, ...forged }),
    );
    expect(removalsOf(answer)).toContain(HEADER);
  });

  it("serves a cached credential's kept answer until the assertion renews, then a new answer with new bytes", async () => {
    const clock = createManualClock(T0);
    const gate = gateOf(clock);
    await gate.decide(checkRequest("/orders/1", asAlice)); // first sight: an answer of its own
    const kept = await gate.decide(checkRequest("/orders/2", asAlice));
    expect(Object.isFrozen(kept)).toBe(true);
    const bytes = checkResponseBytes(kept);
    clock.advance(29_999);
    expect(await gate.decide(checkRequest("/orders/3", asAlice))).toBe(kept);
    clock.advance(1);
    const renewed = await gate.decide(checkRequest("/orders/4", asAlice));
    expect(renewed).not.toBe(kept);
    expect(Object.isFrozen(renewed)).toBe(true);
    expect(checkResponseBytes(renewed)).not.toBe(bytes);
    const before = decodeJwt(headerOf(kept, HEADER)!);
    const after = decodeJwt(headerOf(renewed, HEADER)!);
    expect(after.jti).not.toBe(before.jti);
    expect(after.iat).toBe(T0 / 1000 + 30);
    // Never stale: at any moment the assertion served has at least half of its life left.
    expect(after.exp! - T0 / 1000 - 30).toBeGreaterThanOrEqual(30);
    expect(await gate.decide(checkRequest("/orders/5", asAlice))).toBe(renewed);
  });

  it("keeps the answers of routes without an assertion as before", async () => {
    const clock = createManualClock(T0);
    const gate = gateOf(clock);
    await gate.decide(checkRequest("/plain/1", asAlice));
    const kept = await gate.decide(checkRequest("/plain/2", asAlice));
    clock.advance(3_600_000);
    expect(await gate.decide(checkRequest("/plain/3", asAlice))).toBe(kept);
  });

  it("refuses the request (503) while no signing key is loaded, rather than pass it unasserted", async () => {
    const config = configOf();
    const identity = createIdentityHeaders(config.identity);
    const assertions = createAssertionPipeline(config, identity, {
      logger: pino({ level: "silent" }),
      clock: createManualClock(T0),
      keyring: { keysFor: () => () => null, close: () => undefined },
    });
    const gate = new Gate({
      normalizePath,
      routes: new RouteTable(config.routes, config.policy),
      identity,
      assertions,
      verifier: { verify: async () => alice },
    });
    const answer = await gate.decide(checkRequest("/orders/1", asAlice));
    expect(outcomeOf(answer)).toBe("internal_error:orders");
    expect(answer).toMatchObject({ status: 503, detail: "signed assertion not made: keys_not_loaded" });
    expect(outcomeOf(await gate.decide(checkRequest("/plain/1", asAlice)))).toBe("allow:plain");
  });
});
