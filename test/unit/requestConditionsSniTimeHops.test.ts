// routes[].match.sni, .time and policy.trustedForwardedHops on the rule engine: the TLS server name
// (exact or one wildcard label), a weekly window read in an IANA zone from the injected clock (across
// DST and midnight), and the client address taken from X-Forwarded-For only N hops from the right.
import { describe, expect, it } from "vitest";
import { parseCheckedConfig } from "../../src/app/parseCheckedConfig.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import type { ConditionInput } from "../../src/core/compileRequestConditions.ts";
import { forwardedClientAddress } from "../../src/core/forwardedClientAddress.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";
import { createManualClock, type ManualClock } from "../harness/createManualClock.ts";

type Raw = Record<string, any>;
const providers = { corp: { issuer: "https://idp.example.com", audiences: ["api"] } };

function parsed(routes: Raw[], policy: Raw = {}) {
  const result = parseCheckedConfig({ providers: structuredClone(providers), policy, routes });
  if (!result.ok) throw new Error(JSON.stringify(result.problems.map(formatIssue)));
  return result;
}

function table(routes: Raw[], { policy = {}, clock }: { policy?: Raw; clock?: ManualClock } = {}): RouteTable {
  const { config } = parsed(routes, policy);
  return new RouteTable(config.routes as RouteConfig[], config.policy, clock === undefined ? {} : { clock });
}

const input = (over: Partial<ConditionInput> = {}): ConditionInput => ({ headers: new Map(), path: "/", ...over });
const matched = (t: RouteTable, request: ConditionInput) =>
  t.match("app.example.com", "/", "GET", request)?.name ?? null;
const rest = { name: "rest", match: {}, auth: "required" };

describe("routes[].match.sni", () => {
  const t = table([
    { name: "internal", match: { sni: ["api.example.com", "*.corp.example.com"] }, auth: "public" },
    rest,
  ]);

  it("matches an exact server name in any letter case", () => {
    expect(matched(t, input({ sni: "api.example.com" }))).toBe("internal");
    expect(matched(t, input({ sni: "API.Example.COM" }))).toBe("internal");
    expect(matched(t, input({ sni: "www.example.com" }))).toBe("rest");
  });

  it("lets a wildcard stand for exactly one label, never the bare suffix or two labels", () => {
    expect(matched(t, input({ sni: "eu.corp.example.com" }))).toBe("internal");
    expect(matched(t, input({ sni: "corp.example.com" }))).toBe("rest");
    expect(matched(t, input({ sni: "a.eu.corp.example.com" }))).toBe("rest");
    expect(matched(t, input({ sni: "evilcorp.example.com" }))).toBe("rest");
  });

  it("folds ASCII letter case only: a non-ASCII name whose lower case is an ASCII one does not match", () => {
    // KELVIN SIGN and LATIN CAPITAL I WITH DOT lower-case to "k" and "i̇" in JavaScript; DNS names
    // compare ASCII case-insensitively, and Envoy's filter chains saw another name.
    const kube = table([{ name: "kube", match: { sni: ["kube.example.com", "*.example.com"] }, auth: "public" }, rest]);
    expect(matched(kube, input({ sni: "KUBE.example.com" }))).toBe("kube");
    expect(matched(kube, input({ sni: "\u212Aube.example.com" }))).toBe("rest");
    expect(matched(kube, input({ sni: "\u212A.example.com" }))).toBe("rest");
    expect(matched(kube, input({ sni: "kube.example.com\u0000" }))).toBe("rest");
  });

  it("does not match a request without SNI (plain HTTP, or an Envoy that does not send it)", () => {
    expect(matched(t, input())).toBe("rest");
    expect(matched(t, input({ sni: "" }))).toBe("rest");
  });

  it("check-config rejects a server name that is not a host name, and warns that SNI is the client's choice", () => {
    const bad = parseCheckedConfig({
      providers,
      routes: [{ name: "a", match: { sni: ["api.example.com:443"] }, auth: "required" }],
    });
    expect(bad.ok ? [] : bad.problems.map(formatIssue)).toEqual([
      expect.stringMatching(/^routes\[0\]\.match\.sni\[0\]: must be a host name/),
    ]);
    const loose = parsed([{ name: "by-sni", match: { sni: ["open.example.com"] }, auth: "public" }, rest]);
    expect(loose.warnings.map(formatIssue)).toEqual([
      expect.stringMatching(/^routes\[0\]\.match\.sni: is the client's to send: .*an SNI condition may narrow a rule/),
    ]);
  });
});

// 2026-03-29 is the Sunday Europe/Berlin springs from 02:00 CET to 03:00 CEST; 2026-10-25 the Sunday
// it falls back from 03:00 CEST to 02:00 CET.
const at = (iso: string) => Date.parse(iso);

describe("routes[].match.time", () => {
  const office = { days: ["mon", "tue", "wed", "thu", "fri"], from: "09:00", to: "18:00", timeZone: "Europe/Berlin" };

  function officeTable(clock: ManualClock) {
    return table([{ name: "office", match: { time: office }, auth: "public" }, rest], { clock });
  }

  it("holds from the opening minute up to before the closing one, in the window's zone", () => {
    const clock = createManualClock(at("2026-03-27T08:00:00Z")); // Friday 09:00 CET
    const t = officeTable(clock);
    expect(matched(t, input())).toBe("office");
    clock.advance(9 * 3600_000 - 60_000); // 17:59 CET
    expect(matched(t, input())).toBe("office");
    clock.advance(60_000); // 18:00 CET
    expect(matched(t, input())).toBe("rest");
    clock.advance(15 * 3600_000 - 60_000); // Saturday 08:59
    expect(matched(t, input())).toBe("rest");
    clock.advance(60_000); // Saturday 09:00, not a listed day
    expect(matched(t, input())).toBe("rest");
  });

  it("keeps local hours across the spring DST change: 09:00 is 08:00 UTC before and 07:00 UTC after", () => {
    const before = createManualClock(at("2026-03-27T07:30:00Z")); // Friday 08:30 CET
    expect(matched(officeTable(before), input())).toBe("rest");
    const after = createManualClock(at("2026-03-30T07:30:00Z")); // Monday 09:30 CEST
    expect(matched(officeTable(after), input())).toBe("office");
    const evening = createManualClock(at("2026-03-30T16:30:00Z")); // Monday 18:30 CEST
    expect(matched(officeTable(evening), input())).toBe("rest");
  });

  it("holds twice for a local hour the autumn change repeats, and never for the hour spring skips", () => {
    const window = { days: ["sun"], from: "02:00", to: "03:00", timeZone: "Europe/Berlin" };
    const check = (iso: string) => {
      const clock = createManualClock(at(iso));
      return matched(table([{ name: "w", match: { time: window }, auth: "public" }, rest], { clock }), input());
    };
    expect(check("2026-10-25T00:30:00Z")).toBe("w"); // 02:30 CEST
    expect(check("2026-10-25T01:30:00Z")).toBe("w"); // 02:30 CET, the same local time again
    expect(check("2026-03-29T00:59:00Z")).toBe("rest"); // 01:59 CET
    expect(check("2026-03-29T01:00:00Z")).toBe("rest"); // 03:00 CEST: 02:xx never happened
  });

  it("lets a window cross midnight, belonging to the day it opens", () => {
    const night = { days: ["fri"], from: "22:00", to: "06:00", timeZone: "UTC" };
    const check = (iso: string) => {
      const clock = createManualClock(at(iso));
      return matched(table([{ name: "night", match: { time: night }, auth: "public" }, rest], { clock }), input());
    };
    expect(check("2026-03-27T21:59:00Z")).toBe("rest"); // Friday 21:59
    expect(check("2026-03-27T22:00:00Z")).toBe("night"); // Friday 22:00
    expect(check("2026-03-28T05:59:00Z")).toBe("night"); // Saturday 05:59
    expect(check("2026-03-28T06:00:00Z")).toBe("rest"); // Saturday 06:00
    expect(check("2026-03-28T23:00:00Z")).toBe("rest"); // Saturday 23:00
    expect(check("2026-03-27T03:00:00Z")).toBe("rest"); // Friday 03:00: Thursday is not listed
  });

  it("holds all day on the listed days when from and to are left out", () => {
    const weekend = { days: ["sat", "sun"], timeZone: "America/New_York" };
    const check = (iso: string) => {
      const clock = createManualClock(at(iso));
      return matched(table([{ name: "we", match: { time: weekend }, auth: "public" }, rest], { clock }), input());
    };
    expect(check("2026-03-28T04:00:00Z")).toBe("we"); // Saturday 00:00 EDT
    expect(check("2026-03-28T03:59:00Z")).toBe("rest"); // Friday 23:59 EDT
  });

  it("check-config rejects an empty day list, from equal to to, an unknown zone, half a window, with key paths", () => {
    const result = parseCheckedConfig({
      providers,
      routes: [
        { name: "a", match: { time: { days: [], timeZone: "UTC" } }, auth: "required" },
        { name: "b", match: { time: { from: "09:00", to: "09:00", timeZone: "UTC" } }, auth: "required" },
        { name: "c", match: { time: { timeZone: "Mars/Olympus" } }, auth: "required" },
        { name: "d", match: { time: { from: "09:00", timeZone: "UTC" } }, auth: "required" },
        {
          name: "e",
          match: { time: { days: ["mon", "mon", "funday"], to: "9:00", timeZone: "UTC" } },
          auth: "required",
        },
        { name: "f", match: { time: { timeZone: "UTC", hours: 3 } }, auth: "required" },
      ],
    });
    expect(result.ok ? [] : result.problems.map(formatIssue)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^routes\[0\]\.match\.time\.days: names no day/),
        expect.stringMatching(/^routes\[1\]\.match\.time\.to: is the same time as from \(09:00\)/),
        expect.stringMatching(/^routes\[2\]\.match\.time\.timeZone: must be an IANA time zone/),
        expect.stringMatching(/^routes\[3\]\.match\.time: needs both `from` and `to`, or neither/),
        expect.stringMatching(/^routes\[4\]\.match\.time\.days\[1\]: is listed twice/),
        expect.stringMatching(/^routes\[4\]\.match\.time\.days\[2\]: must be one of sun, mon/),
        expect.stringMatching(/^routes\[4\]\.match\.time\.to: must be a 24-hour local time "HH:MM"/),
        expect.stringMatching(/^routes\[5\]\.match\.time\.hours: is not a known key/),
      ]),
    );
  });

  it("does not call a rule after a time-conditioned one unreachable, and does not warn (the client does not choose the time)", () => {
    const result = parsed([{ name: "office", match: { time: office }, auth: "public" }, rest]);
    expect(result.warnings).toEqual([]);
  });
});

describe("policy.trustedForwardedHops", () => {
  it("takes the entry N places left of the peer Envoy appended", () => {
    expect(forwardedClientAddress("198.51.100.7,203.0.113.5", "203.0.113.5", 1)).toBe("198.51.100.7");
    expect(forwardedClientAddress("6.6.6.6, 198.51.100.7, 203.0.113.9,203.0.113.5", "203.0.113.5", 2)).toBe(
      "198.51.100.7",
    );
    expect(forwardedClientAddress("2001:db8::7,2001:db8::1", "2001:db8::1", 1)).toBe("2001:db8::7");
  });

  it("fails closed on a missing header, too few entries, a garbled entry, or a last entry that is not the peer", () => {
    expect(forwardedClientAddress(undefined, "203.0.113.5", 1)).toBeUndefined();
    expect(forwardedClientAddress("203.0.113.5", "203.0.113.5", 1)).toBeUndefined();
    expect(forwardedClientAddress("unknown,203.0.113.5", "203.0.113.5", 1)).toBeUndefined();
    expect(forwardedClientAddress("198.51.100.7:4711,203.0.113.5", "203.0.113.5", 1)).toBeUndefined();
    expect(forwardedClientAddress("198.51.100.7", "203.0.113.5", 0)).toBeUndefined();
    // An Envoy that does not append the peer (use_remote_address: false): the last entry is the client's.
    expect(forwardedClientAddress("10.0.0.1,198.51.100.7", "203.0.113.5", 1)).toBeUndefined();
    expect(forwardedClientAddress("198.51.100.7,203.0.113.5", undefined, 1)).toBeUndefined();
  });

  it("accepts Envoy's own address as the last entry for a loopback peer (Envoy appends itself then)", () => {
    expect(forwardedClientAddress("198.51.100.7,192.0.2.2", "127.0.0.1", 1)).toBe("198.51.100.7");
    expect(forwardedClientAddress("198.51.100.7,192.0.2.2", "::ffff:127.0.0.1", 1)).toBe("198.51.100.7");
  });

  it("makes sourceAddresses read the forwarded client address, and never the leftmost client-written one", () => {
    const routes = [{ name: "office", match: { sourceAddresses: ["198.51.100.0/24"] }, auth: "public" }, rest];
    const t = table(routes, { policy: { trustedForwardedHops: 1 } });
    const via = (xff: string | undefined, peer = "203.0.113.5") =>
      matched(t, input({ sourceAddress: peer, headers: new Map(xff === undefined ? [] : [["x-forwarded-for", xff]]) }));
    expect(via("198.51.100.7,203.0.113.5")).toBe("office");
    expect(via("198.51.100.7, 192.0.2.1,203.0.113.5")).toBe("rest");
    expect(via(undefined, "198.51.100.7")).toBe("rest");
    // With the default 0 the header is never read.
    const plain = table(routes);
    expect(
      matched(plain, input({ sourceAddress: "203.0.113.5", headers: new Map([["x-forwarded-for", "198.51.100.7"]]) })),
    ).toBe("rest");
  });

  it("check-config explains the trust it implies, and warns when no condition reads it", () => {
    const used = parsed([{ name: "office", match: { sourceAddresses: ["10.0.0.0/8"] }, auth: "public" }, rest], {
      trustedForwardedHops: 2,
    });
    expect(used.warnings.map(formatIssue)).toEqual([
      expect.stringMatching(
        /^policy\.trustedForwardedHops: trusts X-Forwarded-For: .*exactly 2 proxies you operate, .*use_remote_address: true/,
      ),
    ]);
    const unused = parsed([rest], { trustedForwardedHops: 1 });
    expect(unused.warnings.map(formatIssue)).toEqual([
      expect.stringMatching(/^policy\.trustedForwardedHops: is 1 but no sourceAddresses condition reads/),
    ]);
    const tooMany = parseCheckedConfig({ providers, policy: { trustedForwardedHops: 11 }, routes: [rest] });
    expect(tooMany.ok ? [] : tooMany.problems.map(formatIssue)).toEqual([
      expect.stringMatching(/^policy\.trustedForwardedHops: /),
    ]);
  });
});
