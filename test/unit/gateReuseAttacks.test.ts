// Attacks on the gate's reused answers, each named after what must not leak from one request into
// another: a kept answer is handed out only when nothing of the request makes its answer its own,
// and never once the credential behind it is refused, for another provider or past a requirement.
// A token's answer is kept from its second check on (the token cache's first hit): `known` checks
// once first, so the answer under attack is a kept one.
import { describe, expect, it } from "vitest";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import type { Decision } from "../../src/core/Decision.ts";
import type { Gate, VerifyOutcome } from "../../src/core/Gate.ts";
import type { SessionPort } from "../../src/login/SessionPort.ts";
import { headerOf, outcomeOf, removalsOf } from "../harness/checkOutcome.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { DEFAULT_IDENTITY_HEADER_NAMES } from "../harness/defaultIdentityHeaderNames.ts";
import { NO_REQUIREMENTS } from "../harness/noRequirements.ts";

const routes: RouteConfig[] = [
  { name: "open", match: { hosts: [], path: "/open" }, auth: "public", providers: [] },
  {
    name: "staff",
    match: { hosts: [], path: "/staff" },
    auth: "required",
    providers: [],
    require: { ...NO_REQUIREMENTS, roles: { anyOf: ["staff"], allOf: [] } },
  },
  { name: "corp-only", match: { hosts: [], path: "/corp" }, auth: "required", providers: ["corp"] },
  { name: "api", match: { hosts: [], path: "/" }, auth: "required", providers: [] },
];
const claims = Object.freeze({ sub: "alice", email: "alice@example.com", roles: ["user"], exp: 2e9 });
const asAlice = { authorization: "Bearer alice" };
const owned = Object.values(DEFAULT_IDENTITY_HEADER_NAMES);

function setup(sessions?: SessionPort) {
  const tokens: Record<string, VerifyOutcome> = {
    alice: { ok: true, provider: "corp", claims, expiresAt: 2e9 },
    // The same claims object under another provider: the reuse is keyed by claims, so it must check.
    mallory: { ok: true, provider: "partner", claims, expiresAt: 2e9 },
  };
  const { gate } = gateOver({ routes, tokens, tokenCache: true, ...(sessions ? { sessions } : {}) });
  return { gate, tokens };
}

/** The answer for a token's second check on `path` (the first made its verification's cache entry). */
async function known(gate: Gate, path: string, headers: Record<string, string>): Promise<Decision> {
  await gate.decide(checkRequest(path, headers));
  return gate.decide(checkRequest(path, headers));
}

/** Every owned header is either set by us (overwriting the client's) or removed. */
function coversOwned(decision: Parameters<typeof removalsOf>[0]): void {
  for (const name of owned)
    expect(headerOf(decision, name) !== undefined || removalsOf(decision).includes(name)).toBe(true);
  expect(removalsOf(decision)).toContain("authorization");
}

describe("attacks on the gate's reused answers", () => {
  it("forged owned headers: a reused answer still overwrites or removes every identity header the client sent", async () => {
    const { gate } = setup();
    const plain = await known(gate, "/api", asAlice);
    const forged = Object.fromEntries(owned.map((name) => [name, "admin"]));
    const attacked = await gate.decide(checkRequest("/api", { ...asAlice, ...forged }));
    coversOwned(plain);
    coversOwned(attacked);
    const open = await gate.decide(checkRequest("/open", forged));
    for (const name of owned) expect(removalsOf(open)).toContain(name);
  });

  it("revoked or expired token: once the verifier refuses it, the answer kept for its claims is never handed out", async () => {
    const { gate, tokens } = setup();
    expect(outcomeOf(await known(gate, "/api", asAlice))).toBe("allow:api");
    tokens["alice"] = { ok: false, code: "token_expired", detail: "exp passed" };
    expect(outcomeOf(await gate.decide(checkRequest("/api", asAlice)))).toBe("token_expired:api");
  });

  it("other provider: the same claims under another provider never get the answer kept for the first provider", async () => {
    const { gate } = setup();
    const corp = await known(gate, "/api", asAlice);
    const partner = await known(gate, "/api", { authorization: "Bearer mallory" });
    expect(partner).not.toBe(corp);
    expect(partner).toMatchObject({ kind: "allow", provider: "partner" });
    // Which providers a route accepts is the verifier's check (it is handed route.providers); the
    // answer kept for these claims on that route still names the provider that verified them.
    const kept = await known(gate, "/corp", asAlice);
    const other = await known(gate, "/corp", { authorization: "Bearer mallory" });
    expect(other).not.toBe(kept);
    expect(other).toMatchObject({ provider: "partner" });
  });

  it("route requirements: an answer kept on one route never skips another route's requirements", async () => {
    const { gate } = setup();
    expect(outcomeOf(await known(gate, "/api", asAlice))).toBe("allow:api");
    expect(outcomeOf(await gate.decide(checkRequest("/staff", asAlice)))).toBe("requirement_failed:staff");
    expect(outcomeOf(await gate.decide(checkRequest("/staff", asAlice)))).toBe("requirement_failed:staff");
  });

  it("a cookie to strip: a bearer request carrying our session cookie gets its own answer without that cookie", async () => {
    const sessions = {
      cookiePrefix: "__Host-portcullis",
      owns: (name: string) => name.startsWith("__Host-portcullis"),
    } as unknown as SessionPort;
    const { gate } = setup(sessions);
    const plain = await known(gate, "/api", asAlice);
    const withCookie = await gate.decide(
      checkRequest("/api", { ...asAlice, cookie: "theme=dark; __Host-portcullis-session=sealed" }),
    );
    expect(withCookie).not.toBe(plain);
    expect(headerOf(withCookie, "cookie")).toBe("theme=dark");
    const onlyOurs = await gate.decide(
      checkRequest("/api", { ...asAlice, cookie: "__Host-portcullis-session=sealed" }),
    );
    expect(removalsOf(onlyOurs)).toContain("cookie");
    expect(await gate.decide(checkRequest("/api", asAlice))).toBe(plain);
    expect(headerOf(plain, "cookie")).toBeUndefined();
    expect(removalsOf(plain)).not.toContain("cookie");
  });

  it("a reused answer cannot be changed by whoever holds it: the answer is frozen", async () => {
    const { gate } = setup();
    const plain = await known(gate, "/api", asAlice);
    expect(Object.isFrozen(plain)).toBe(true);
    expect(() => Object.assign(plain, { route: "other" })).toThrow(TypeError);
  });
});
