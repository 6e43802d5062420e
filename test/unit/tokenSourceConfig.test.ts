// check-config on routes[].tokenSource: one place at most, not on a public route, never one of
// Portcullis's own cookies or an identity header it sets, no query parameter behind a forward-auth
// proxy that could not remove it; every problem with its key path.
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";

type Raw = Record<string, any>;
const base = (): Raw => ({
  providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
  routes: [{ name: "ws", match: { path: "/ws" }, auth: "required", tokenSource: { query: "access_token" } }],
});

function problemsOf(raw: Raw): string[] {
  const result = parseConfig(raw);
  return result.ok ? [] : result.problems.map(formatIssue);
}

describe("routes[].tokenSource in the config", () => {
  it("accepts a query, a header or a cookie source", () => {
    expect(problemsOf(base())).toEqual([]);
    for (const source of [{ header: "x-api-token" }, { cookie: "api_token" }]) {
      const raw = base();
      raw.routes[0].tokenSource = source;
      expect(problemsOf(raw)).toEqual([]);
    }
  });

  const invalid: [string, (r: Raw) => void, RegExp][] = [
    [
      "refuses two places at once",
      (r) => (r.routes[0].tokenSource.cookie = "api_token"),
      /^routes\[0\]\.tokenSource: sets cookie and query: a route reads its token from one place/,
    ],
    [
      "refuses a source on a public route",
      (r) => (r.routes[0].auth = "public"),
      /^routes\[0\]\.tokenSource: is set on an auth: public route/,
    ],
    [
      "refuses a cookie that collides with Portcullis's session cookie",
      (r) => (r.routes[0].tokenSource = { cookie: "__Host-portcullis-token" }),
      /^routes\[0\]\.tokenSource\.cookie: collides with Portcullis's own session cookies/,
    ],
    [
      "refuses a cookie named like a configured session cookie",
      (r) => {
        r.session = { cookieName: "sid" };
        r.routes[0].tokenSource = { cookie: "sid" };
      },
      /^routes\[0\]\.tokenSource\.cookie: collides with Portcullis's own session cookies/,
    ],
    [
      "refuses an identity header Portcullis sets",
      (r) => (r.routes[0].tokenSource = { header: "x-user-sub" }),
      /^routes\[0\]\.tokenSource\.header: is an identity header Portcullis sets/,
    ],
    [
      "refuses the Authorization header, which is the default",
      (r) => (r.routes[0].tokenSource = { header: "authorization" }),
      /^routes\[0\]\.tokenSource\.header: must not be authorization, host or cookie/,
    ],
    [
      "refuses a query parameter name with characters that need encoding",
      (r) => (r.routes[0].tokenSource = { query: "access token" }),
      /^routes\[0\]\.tokenSource\.query: /,
    ],
    [
      "refuses a query source behind a forward-auth proxy",
      (r) => (r.forwardAuth = { enabled: true }),
      /^routes\[0\]\.tokenSource\.query: cannot be removed by a forward-auth proxy/,
    ],
  ];
  for (const [name, change, expected] of invalid) {
    it(name, () => {
      const raw = base();
      change(raw);
      expect(problemsOf(raw)).toEqual(expect.arrayContaining([expect.stringMatching(expected)]));
    });
  }
});
