// A deny rule's `when.request` that cannot read the request fires: a repeated or undecodable query
// parameter (which the upstream may read as the denied value) or a client address that cannot be
// trusted must not let a caller past the rule, while `match` and `require.request` still fail on them.
import { describe, expect, it } from "vitest";
import { parseCheckedConfig } from "../../src/app/parseCheckedConfig.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { createManualClock } from "../harness/createManualClock.ts";

const PROVIDERS = { corp: { issuer: "https://idp.example.com", audiences: ["api"] } };
const token = (groups: string[]): VerifyOutcome => ({
  ok: true,
  provider: "corp",
  claims: { sub: "alice", exp: 2_000_000_000, groups },
  expiresAt: 2_000_000_000,
});
const TOKENS = { contractor: token(["contractors"]) };
const bearer = { authorization: "Bearer contractor" };

function gateFor(policy: Record<string, unknown>, when: Record<string, unknown>) {
  const routes = [
    {
      name: "reports",
      match: { path: "/reports" },
      auth: "required",
      deny: [{ code: "contractor_refused", when: { groups: ["contractors"], request: when } }],
    },
  ];
  const parsed = parseCheckedConfig({ providers: PROVIDERS, policy, routes });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.map(formatIssue)));
  const { routes: parsedRoutes, policy: parsedPolicy } = parsed.config;
  return gateOver({ routes: parsedRoutes, policy: parsedPolicy, tokens: TOKENS, clock: createManualClock() }).gate;
}

async function deniedCode(decision: Promise<{ kind: string }>): Promise<string | null> {
  const answer = (await decision) as { kind: string; body?: string };
  return answer.kind === "deny" ? (JSON.parse(answer.body ?? "{}") as { error: string }).error : null;
}

describe("a deny rule's when.request on the query", () => {
  const gate = gateFor({}, { query: [{ name: "action", equals: "delete" }] });
  const at = (path: string) => deniedCode(gate.decide(checkRequest(path, bearer)));

  it("denies the parameter given once with the value, and lets other values through", async () => {
    expect(await at("/reports?action=delete")).toBe("contractor_refused");
    expect(await at("/reports?action=view")).toBeNull();
    expect(await at("/reports")).toBeNull();
  });

  it("denies the parameter given twice, as frameworks reading the first or the last one see the denied value", async () => {
    expect(await at("/reports?action=delete&action=delete")).toBe("contractor_refused");
    expect(await at("/reports?action=delete&action=view")).toBe("contractor_refused");
    expect(await at("/reports?action=view&action=delete")).toBe("contractor_refused");
  });

  it("denies a query that cannot be decoded, which lenient parsers still read the parameter from", async () => {
    expect(await at("/reports?action=delete&junk=%E0%A4%A")).toBe("contractor_refused");
    expect(await at("/reports?x=%ZZ&action=delete")).toBe("contractor_refused");
  });
});

describe("a deny rule's when.request on the client address", () => {
  it("denies when policy.trustedForwardedHops cannot read a trustworthy address", async () => {
    const gate = gateFor({ trustedForwardedHops: 1 }, { sourceAddresses: ["192.0.2.0/24"] });
    const at = (xff: string | undefined) =>
      deniedCode(
        gate.decide(
          checkRequest(
            "/reports",
            { ...bearer, ...(xff === undefined ? {} : { "x-forwarded-for": xff }) },
            {
              sourceAddress: "10.1.1.1",
            },
          ),
        ),
      );
    expect(await at("192.0.2.7,10.1.1.1")).toBe("contractor_refused");
    expect(await at("198.51.100.7,10.1.1.1")).toBeNull();
    // No header, too few entries, a garbled entry, a last entry that is not the peer: no address to trust.
    expect(await at(undefined)).toBe("contractor_refused");
    expect(await at("10.1.1.1")).toBe("contractor_refused");
    expect(await at("192.0.2.7:4711,10.1.1.1")).toBe("contractor_refused");
    expect(await at("192.0.2.7,10.9.9.9")).toBe("contractor_refused");
  });

  it("denies when Envoy reports no source address", async () => {
    const gate = gateFor({}, { sourceAddresses: ["192.0.2.0/24"] });
    expect(await deniedCode(gate.decide(checkRequest("/reports", bearer)))).toBe("contractor_refused");
    const outside = checkRequest("/reports", bearer, { sourceAddress: "198.51.100.7" });
    expect(await deniedCode(gate.decide(outside))).toBeNull();
  });
});

describe("match and require.request on an unreadable request", () => {
  it("still fail: a repeated parameter or an untrusted address never meets them", async () => {
    const parsed = parseCheckedConfig({
      providers: PROVIDERS,
      policy: { trustedForwardedHops: 1 },
      routes: [
        {
          name: "reports",
          match: { path: "/reports", query: [{ name: "view", equals: "all" }] },
          auth: "required",
          require: { request: { sourceAddresses: ["192.0.2.0/24"] } },
        },
        { name: "rest", match: { path: "/" }, auth: "public" },
      ],
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.map(formatIssue)));
    const { routes, policy } = parsed.config;
    const { gate } = gateOver({ routes, policy, tokens: TOKENS, clock: createManualClock() });
    const peer = { sourceAddress: "10.1.1.1" };
    const repeated = await gate.decide(
      checkRequest("/reports?view=all&view=all", { ...bearer, "x-forwarded-for": "192.0.2.7,10.1.1.1" }, peer),
    );
    expect(repeated).toMatchObject({ kind: "allow", route: "rest" });
    const untrusted = await gate.decide(checkRequest("/reports?view=all", { ...bearer }, peer));
    expect(untrusted).toMatchObject({ kind: "deny", status: 403, code: "request_condition_failed" });
  });
});

describe("check-config on a deny rule's when.request", () => {
  it("warns that a header, query or SNI condition refuses only clients that choose to send it", () => {
    const parsed = parseCheckedConfig({
      providers: PROVIDERS,
      routes: [
        {
          name: "reports",
          match: { path: "/reports" },
          auth: "required",
          deny: [
            {
              when: { request: { headers: [{ name: "x-debug", present: true }], query: [{ name: "a", equals: "b" }] } },
            },
            { when: { groups: ["contractors"], request: { sourceAddresses: ["192.0.2.0/24"] } } },
          ],
        },
      ],
    });
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems.map(formatIssue)));
    expect(parsed.warnings.map(formatIssue)).toEqual([
      expect.stringMatching(/^routes\[0\]\.deny\[0\]\.when\.request\.headers: is the client's to send or leave out/),
      expect.stringMatching(/^routes\[0\]\.deny\[0\]\.when\.request\.query: is the client's to send or leave out/),
    ]);
  });
});
