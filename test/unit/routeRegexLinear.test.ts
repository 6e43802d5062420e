// Route regexes run on V8's linear-time engine, config parsing refuses what that engine cannot run,
// and the gate never runs a regex on more than REGEX_INPUT_LIMIT characters. No timing assertions:
// linearity is shown by the engine (the `l` flag, refusals), the numbers belong in the benchmark.
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { compileLinearRegex, linearRegexProblem, REGEX_INPUT_LIMIT } from "../../src/config/compileLinearRegex.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { compileRouteRegex } from "../../src/config/routePathPattern.ts";
import { compileRoutes } from "../../src/core/compileRoutes.ts";
import { Gate } from "../../src/core/Gate.ts";
import { normalizePath } from "../../src/core/normalizePath.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";
import { createIdentityHeaders } from "../../src/identity/IdentityHeaders.ts";
import { PLAIN_IDENTITY } from "../harness/plainIdentityConfig.ts";

const STALLING = "^/api/([a-z0-9]+-?)*/items$";

function regexProblem(pathRegex: string): string[] {
  const result = parseConfig({
    providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
    routes: [{ name: "r", match: { pathRegex }, auth: "required" }],
  });
  return result.ok ? [] : result.problems.map(formatIssue);
}

describe("route regexes on the linear-time engine", () => {
  it("compiles every route regex with the linear engine's l flag, case-insensitive ones too", () => {
    expect(compileRouteRegex(STALLING).flags).toContain("l");
    expect(compileRouteRegex(STALLING, "i").flags).toContain("l");
    const rule = compileRoutes([
      { name: "r", match: { hosts: [], path: null, pathRegex: STALLING }, auth: "required", providers: [] },
    ])[0]!;
    expect(rule.path.kind).toBe("regex");
    if (rule.path.kind === "regex") expect(rule.path.regex.flags).toContain("l");
  });

  it("accepts the pattern that stalled the backtracking engine and answers on a long crafted path", () => {
    expect(regexProblem(STALLING)).toEqual([]);
    const regex = compileRouteRegex(STALLING);
    expect(regex.test(`/api/${"a".repeat(29)}!`)).toBe(false);
    expect(regex.test(`/api/${"a".repeat(10_000)}!`)).toBe(false);
    expect(regex.test("/api/foo-bar-baz/items")).toBe(true);
  });

  it("the engine itself refuses a super-linear construct rather than backtracking on it", () => {
    expect(() => compileLinearRegex("^(a)\\1$")).toThrow(/linear time/);
    expect(() => compileLinearRegex("^a(?=b)")).toThrow(/linear time/);
  });

  const refused: [string, string, RegExp][] = [
    ["a lookahead", "^/a(?!dmin).*$", /lookaround/],
    ["a backreference", "^/(a+)/\\1$", /backreference/],
    ["a named backreference", "^/(?<x>a+)/\\k<x>$", /backreference/],
    [
      "a counted repetition above 16",
      "^/users/[0-9a-f]{24}$",
      /counted repetition above 16 .* split it into runs of at most 16 \(\[0-9a-f\]\{24\} is \[0-9a-f\]\{16\}\[0-9a-f\]\{8\}/,
    ],
    ["nested counted repetitions", "^/(?:a{8}){4}$", /nested counted repetitions/],
    ["an inline modifier group", "^/(?i:admin)/.*$", /modifier group/],
  ];
  it.each(refused)("refuses %s at config time with the key path and a fix", (_name, pattern, fix) => {
    const lines = regexProblem(pattern);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^routes\[0\]\.match\.pathRegex: cannot run in linear time, so a crafted path could stall every check: /,
    );
    expect(lines[0]).toMatch(fix);
  });

  it("still reports a syntax error as such", () => {
    expect(regexProblem("^/(a$")[0]).toMatch(/^routes\[0\]\.match\.pathRegex: is not a valid regular expression/);
    expect(linearRegexProblem("^/v[0-9]{1,16}$")).toBeNull();
    // The rewrite the refusal suggests is accepted.
    expect(linearRegexProblem("^/users/[0-9a-f]{16}[0-9a-f]{8}$")).toBeNull();
  });

  it("keeps the literal-prefix shortcut: a regex rule is still skipped by its prefix and matched by its regex", () => {
    const table = new RouteTable([
      { name: "v", match: { hosts: [], path: null, pathRegex: "^/v[0-9]+/status$" }, auth: "public", providers: [] },
      { name: "rest", match: { hosts: [], path: "/" }, auth: "required", providers: [] },
    ]);
    expect(table.match("h", "/v12/status", "GET")?.name).toBe("v");
    expect(table.match("h", "/x12/status", "GET")?.name).toBe("rest");
  });
});

describe("the gate bounds what a regex runs on", () => {
  const identity = PLAIN_IDENTITY;
  const gate = new Gate({
    normalizePath,
    routes: new RouteTable([
      { name: "items", match: { hosts: [], path: null, pathRegex: STALLING }, auth: "required", providers: [] },
      { name: "open", match: { hosts: [], path: "/" }, auth: "public", providers: [] },
    ]),
    identity: createIdentityHeaders(identity),
    verifier: { verify: async () => ({ ok: false, code: "signature_invalid", detail: "test" }) },
  });
  const request = (path: string) => ({
    requestId: "r",
    method: "GET",
    scheme: "https",
    host: "h",
    path,
    headers: new Map<string, string>(),
  });

  it(`refuses a path longer than ${REGEX_INPUT_LIMIT} characters with 400 path_invalid instead of matching a looser rule`, async () => {
    const long = `/api/${"a".repeat(REGEX_INPUT_LIMIT)}/items`;
    expect(await gate.decide(request(long))).toMatchObject({
      kind: "deny",
      status: 400,
      code: "path_invalid",
      route: null,
    });
    const query = `/open?${"q".repeat(REGEX_INPUT_LIMIT * 2)}`;
    expect(await gate.decide(request(query))).toMatchObject({ kind: "allow", route: "open" });
  });

  it(`matches a path of exactly ${REGEX_INPUT_LIMIT} characters by the rules`, async () => {
    const path = `/api/${"a".repeat(REGEX_INPUT_LIMIT - "/api//items".length)}/items`;
    expect(path).toHaveLength(REGEX_INPUT_LIMIT);
    expect(await gate.decide(request(path))).toMatchObject({ kind: "deny", status: 401, route: "items" });
  });
});
