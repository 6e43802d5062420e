// Config rules of browser login: a client needs a callback URL, sealing keys and openid; cookie
// names follow the __Host- rules; redirects stay on known origins. Every problem names its key.
import { describe, expect, it } from "vitest";
import { parseCheckedConfig } from "../../src/app/parseCheckedConfig.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";

const KEY = "k".repeat(32);

function config(provider: Record<string, unknown> = {}, session: Record<string, unknown> = { keys: [KEY] }) {
  const corp: Record<string, unknown> = {
    issuer: "https://idp.example.com",
    audiences: ["api"],
    clientId: "portcullis",
    clientSecret: "s3cret-value",
    redirectUri: "https://app.example.com/oauth2/callback",
    ...provider,
  };
  // A key given as undefined stands for a key left out of the YAML.
  for (const key of Object.keys(corp)) if (corp[key] === undefined) delete corp[key];
  return {
    providers: { corp },
    session,
    routes: [{ name: "all", match: { path: "/" }, auth: "required" }],
  };
}

function problems(raw: unknown): string[] {
  const result = parseCheckedConfig(raw);
  return result.ok ? [] : result.problems.map(formatIssue);
}

describe("browser login config", () => {
  it("accepts a client with a callback URL and a sealing key", () => {
    const result = parseCheckedConfig(config());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.providers["corp"]?.scopes).toEqual(["openid", "profile", "email"]);
    expect(result.config.session.cookieName).toBe("__Host-portcullis");
  });

  it("requires redirectUri with clientId and says what it should look like", () => {
    expect(problems(config({ redirectUri: undefined }))).toEqual([
      expect.stringMatching(
        /^providers\.corp\.redirectUri: is required with clientId: .*https:\/\/app\.example\.com\/oauth2\/callback/,
      ),
    ]);
  });

  it("refuses a redirectUri that is not the /oauth2/callback path", () => {
    expect(problems(config({ redirectUri: "https://app.example.com/callback" }))).toEqual([
      expect.stringMatching(/^providers\.corp\.redirectUri: must end in \/oauth2\/callback/),
    ]);
  });

  it("refuses an http redirectUri unless allowInsecureHttp is set", () => {
    expect(problems(config({ redirectUri: "http://app.example.com/oauth2/callback" }))).toEqual([
      expect.stringMatching(/^providers\.corp\.redirectUri: must be https/),
    ]);
  });

  it("requires session.keys once a provider has a clientId", () => {
    expect(problems(config({}, {}))).toEqual([
      expect.stringMatching(/^session\.keys: is required when a provider has a clientId and redirectUri/),
    ]);
  });

  it("refuses a short sealing key without quoting it", () => {
    const found = problems(config({}, { keys: ["too-short-secret"] }));
    expect(found).toEqual([expect.stringMatching(/^session\.keys\[0\]: must be at least 32 characters/)]);
    expect(found.join("\n")).not.toContain("too-short-secret");
  });

  it("requires the openid scope for login", () => {
    expect(problems(config({ scopes: ["profile"] }))).toEqual([
      expect.stringMatching(/^providers\.corp\.scopes: must include "openid"/),
    ]);
  });

  it("refuses a __Host- cookie name together with a cookie domain", () => {
    expect(problems(config({}, { keys: [KEY], cookieName: "__Host-sid", cookieDomain: "example.com" }))).toEqual([
      expect.stringMatching(/^session\.cookieName: a __Host- cookie cannot have a Domain/),
    ]);
  });

  it("names the session cookie without the __Host- prefix when a domain is shared", () => {
    const result = parseCheckedConfig(config({}, { keys: [KEY], cookieDomain: "Example.COM" }));
    expect(result.ok && result.config.session).toMatchObject({ cookieName: "portcullis", cookieDomain: "example.com" });
  });

  it("refuses a post-logout redirect to an origin that is not allowed", () => {
    expect(problems(config({}, { keys: [KEY], postLogoutRedirect: "https://evil.example.net/" }))).toEqual([
      expect.stringMatching(/^session\.postLogoutRedirect: points to https:\/\/evil\.example\.net/),
    ]);
    const allowed = parseCheckedConfig(
      config(
        {},
        {
          keys: [KEY],
          postLogoutRedirect: "https://www.example.com/bye",
          allowedRedirectOrigins: ["https://www.example.com"],
        },
      ),
    );
    expect(allowed.ok).toBe(true);
  });

  it("refuses an allowed redirect origin that carries a path", () => {
    expect(problems(config({}, { keys: [KEY], allowedRedirectOrigins: ["https://www.example.com/app"] }))).toEqual([
      expect.stringMatching(/^session\.allowedRedirectOrigins\[0\]: must be an origin only/),
    ]);
  });

  it("accepts a client used only for introspection without a redirectUri or session keys", () => {
    expect(problems(config({ redirectUri: undefined, introspection: { enabled: true } }, {}))).toEqual([]);
  });

  it("requires client credentials for introspection", () => {
    expect(problems(config({ clientSecret: null, introspection: { enabled: true } }))).toEqual([
      expect.stringMatching(/^providers\.corp\.introspection\.enabled: needs clientId and clientSecret/),
    ]);
  });

  it("refuses a route that would send an opaque token to one of several introspecting providers", () => {
    const introspecting = (issuer: string) => ({
      issuer,
      audiences: ["api"],
      clientId: "portcullis",
      clientSecret: "s3cret-value",
      introspection: { enabled: true },
    });
    const raw = {
      providers: { acme: introspecting("https://acme.example"), globex: introspecting("https://globex.example") },
      routes: [
        { name: "acme", match: { host: "acme.example", path: "/" }, auth: "required", providers: ["acme"] },
        { name: "shared", match: { path: "/" }, auth: "required" },
      ],
    };
    expect(problems(raw)).toEqual([
      expect.stringMatching(
        /^routes\[1\]\.providers: accepts several providers that introspect opaque tokens \(acme, globex\)/,
      ),
    ]);
    expect(problems({ ...raw, routes: [raw.routes[0]] })).toEqual([]);
  });

  it("warns when a route's host cannot complete a login on the provider's redirectUri host, unless a cookie domain covers both", () => {
    const raw = {
      ...config(),
      routes: [{ name: "shop", match: { host: "shop.example.com", path: "/" }, auth: "required" }],
    };
    const result = parseCheckedConfig(raw);
    expect(result.warnings.map(formatIssue)).toEqual([
      expect.stringMatching(
        /^routes\[0\]\.match\.host: shop\.example\.com is not the host of providers\.corp\.redirectUri \(app\.example\.com\)/,
      ),
    ]);
    const shared = parseCheckedConfig({ ...raw, session: { keys: [KEY], cookieDomain: "example.com" } });
    expect(shared.warnings).toEqual([]);
  });
});

describe("incremental consent config (providers.<name>.consentScopes)", () => {
  const withRoutes = (provider: Record<string, unknown>, routes: unknown[]) => ({ ...config(provider), routes });

  it("refuses consentScopes on a provider without browser login, naming the key", () => {
    expect(
      problems(config({ clientId: undefined, clientSecret: undefined, redirectUri: undefined, consentScopes: ["a"] })),
    ).toEqual([
      expect.stringMatching(/^providers\.corp\.consentScopes: needs browser login \(clientId and redirectUri\)/),
    ]);
  });

  it("refuses a consent scope that is not a scope token", () => {
    expect(problems(config({ consentScopes: ["a b"] }))).toEqual([
      expect.stringMatching(/^providers\.corp\.consentScopes\[0\]: /),
    ]);
  });

  it("warns where a route requires a scope the consenting provider may not ask for, and not for one it may", () => {
    const result = parseCheckedConfig(
      withRoutes({ consentScopes: ["reports.read"] }, [
        { name: "reports", match: { path: "/reports" }, auth: "required", require: { scopes: ["reports.read"] } },
        { name: "ledger", match: { path: "/ledger" }, auth: "required", require: { scopes: ["email", "ledger.read"] } },
        { name: "all", match: { path: "/" }, auth: "required" },
      ]),
    );
    if (!result.ok) throw new Error(result.problems.map(formatIssue).join("\n"));
    expect(result.warnings.map(formatIssue)).toEqual([
      expect.stringMatching(
        /^routes\[1\]\.require\.scopes\[1\]: "ledger\.read" \(route "ledger"\) is in neither providers\.corp\.scopes nor providers\.corp\.consentScopes: .*403/,
      ),
    ]);
  });

  it("says nothing about route scopes while no provider asks for consent", () => {
    const result = parseCheckedConfig(
      withRoutes({}, [
        { name: "ledger", match: { path: "/" }, auth: "required", require: { scopes: ["ledger.read"] } },
      ]),
    );
    expect(result.ok && result.warnings).toEqual([]);
  });
});
