// The effective provider configuration each hosted-IdP preset gives, that keys written on the
// provider win over it, and what check-config says about presets and the IdP-convention keys.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { ConfigResult } from "../../src/config/ConfigResult.ts";
import { parseCheckedConfig } from "../../src/app/parseCheckedConfig.ts";
import type { ProviderConfig } from "../../src/config/PortcullisConfig.ts";
import { PRESET_NAMES } from "../../src/config/presets/presetRegistry.ts";

const route = { name: "app", match: { path: "/" }, auth: "required" };
const SESSION = { keys: ["k".repeat(40)] };

function parse(provider: Record<string, unknown>, extra: Record<string, unknown> = {}): ConfigResult {
  return parseCheckedConfig({ providers: { idp: provider }, routes: [route], session: SESSION, ...extra });
}

function effective(provider: Record<string, unknown>): ProviderConfig {
  const result = parse(provider);
  if (!result.ok) throw new Error(result.problems.map(formatIssue).join("\n"));
  return result.config.providers["idp"] as ProviderConfig;
}

const problems = (result: ConfigResult): string[] => (result.ok ? [] : result.problems.map(formatIssue));
const warnings = (result: ConfigResult): string[] => result.warnings.map(formatIssue);

const login = {
  clientId: "portcullis",
  clientSecret: "secret-secret",
  redirectUri: "https://app.example.com/oauth2/callback",
};

describe("preset: keycloak", () => {
  it("reads realm roles and the login client's own roles, groups from groups, and takes only Bearer tokens", () => {
    const p = effective({
      preset: "keycloak",
      issuer: "https://sso.example.com/realms/corp",
      audiences: ["orders-api"],
      ...login,
    });
    expect(p.preset).toBe("keycloak");
    expect(p.roleClaims).toEqual(["realm_access.roles", "resource_access.portcullis.roles"]);
    expect(p.groupClaims).toEqual(["groups"]);
    expect(p.accessTokenClaims).toEqual({ typ: "Bearer" });
    expect(p.logout).toEqual({ method: "end_session", url: null, idTokenHint: true });
    expect(p.scopes).toEqual(["openid", "profile", "email"]);
    expect(p.audiences).toEqual(["orders-api"]);
  });

  it("reads realm roles only when Portcullis has no client there (bearer tokens only)", () => {
    expect(
      effective({ preset: "keycloak", issuer: "https://sso.example.com/realms/corp", audiences: ["api"] }).roleClaims,
    ).toEqual(["realm_access.roles"]);
  });
});

describe("preset: auth0", () => {
  it("reads roles and groups under the claim namespace and asks for the first audience at login", () => {
    const p = effective({
      preset: "auth0",
      claimNamespace: "https://example.com",
      issuer: "https://example.eu.auth0.com/",
      audiences: ["https://api.example.com", "other"],
      ...login,
    });
    expect(p.roleClaims).toEqual(["https://example.com/roles"]);
    expect(p.groupClaims).toEqual(["https://example.com/groups"]);
    expect(p.authorizationParams).toEqual({ audience: "https://api.example.com" });
    expect(p.scopes).toContain("offline_access");
    expect(p.logout).toEqual({ method: "auth0", url: null, idTokenHint: false });
  });

  it("keeps a namespace that ends in a slash as written", () => {
    expect(
      effective({
        preset: "auth0",
        claimNamespace: "https://example.com/claims/",
        issuer: "https://t.auth0.com/",
        audiences: ["a"],
      }).roleClaims,
    ).toEqual(["https://example.com/claims/roles"]);
  });

  it("leaves the role claims to identity.roleClaims without a namespace", () => {
    const p = effective({ preset: "auth0", issuer: "https://t.auth0.com/", audiences: ["a"] });
    expect(p.roleClaims).toBeNull();
    expect(p.groupClaims).toBeNull();
  });
});

describe("preset: okta", () => {
  it("takes groups as roles and asks for offline_access", () => {
    const p = effective({
      preset: "okta",
      issuer: "https://example.okta.com/oauth2/default",
      audiences: ["api://default"],
      ...login,
    });
    expect(p.roleClaims).toEqual(["groups"]);
    expect(p.groupClaims).toEqual(["groups"]);
    expect(p.scopes).toEqual(["openid", "profile", "email", "offline_access"]);
    expect(p.logout?.method).toBe("end_session");
  });
});

describe("preset: cognito", () => {
  it("reads cognito:groups, checks client_id as the audience, takes only access tokens and logs out at the hosted UI", () => {
    const p = effective({
      preset: "cognito",
      issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
      audiences: ["app-client-id"],
    });
    expect(p.roleClaims).toEqual(["cognito:groups"]);
    expect(p.groupClaims).toEqual(["cognito:groups"]);
    expect(p.audienceClaim).toBe("client_id");
    expect(p.accessTokenClaims).toEqual({ token_use: "access" });
    expect(p.logout).toEqual({ method: "cognito", url: null, idTokenHint: false });
    expect(p.scopes).not.toContain("offline_access");
  });
});

describe("preset: entra", () => {
  const tenant = "9f3c6d2e-0b1a-4e5f-8a7b-1c2d3e4f5a6b";

  it("accepts the v1 issuer of a v2 tenant, reads roles and groups, and asks for offline_access", () => {
    const p = effective({
      preset: "entra",
      issuer: `https://login.microsoftonline.com/${tenant}/v2.0`,
      audiences: ["api://orders"],
    });
    expect(p.tokenIssuers).toEqual([`https://sts.windows.net/${tenant}/`]);
    expect(p.roleClaims).toEqual(["roles"]);
    expect(p.groupClaims).toEqual(["groups"]);
    expect(p.scopes).toContain("offline_access");
  });

  it("accepts the v2 issuer of a tenant configured with its v1 issuer", () => {
    const p = effective({ preset: "entra", issuer: `https://sts.windows.net/${tenant}/`, audiences: ["api://orders"] });
    expect(p.tokenIssuers).toEqual([`https://login.microsoftonline.com/${tenant}/v2.0`]);
  });

  it("turns an organizations issuer into v2 and v1 {tenantid} templates", () => {
    const p = effective({
      preset: "entra",
      issuer: "https://login.microsoftonline.com/organizations/v2.0",
      audiences: ["api://orders"],
      allowedTenants: [tenant],
    });
    expect(p.tokenIssuers).toEqual([
      "https://login.microsoftonline.com/{tenantid}/v2.0",
      "https://sts.windows.net/{tenantid}/",
    ]);
    expect(p.allowedTenants).toEqual([tenant]);
  });
});

describe("preset: google", () => {
  it("has no roles or groups, opaque access tokens, offline access with consent, the scheme-less issuer and a local logout", () => {
    const p = effective({
      preset: "google",
      issuer: "https://accounts.google.com",
      audiences: ["1234.apps.googleusercontent.com"],
      ...login,
    });
    expect(p.roleClaims).toEqual([]);
    expect(p.groupClaims).toEqual([]);
    expect(p.opaqueAccessTokens).toBe(true);
    expect(p.authorizationParams).toEqual({ access_type: "offline", prompt: "consent" });
    expect(p.tokenIssuers).toEqual(["accounts.google.com"]);
    expect(p.logout).toEqual({ method: "local", url: null, idTokenHint: false });
  });
});

describe("explicit keys win over a preset", () => {
  it("replaces the preset's roleClaims, scopes and authorizationParams as a whole", () => {
    const p = effective({
      preset: "google",
      issuer: "https://accounts.google.com",
      audiences: ["c"],
      ...login,
      roleClaims: ["hd"],
      scopes: ["openid", "email"],
      authorizationParams: { prompt: "select_account" },
    });
    expect(p.roleClaims).toEqual(["hd"]);
    expect(p.scopes).toEqual(["openid", "email"]);
    expect(p.authorizationParams).toEqual({ prompt: "select_account" });
    expect(p.opaqueAccessTokens).toBe(true);
  });

  it("lets an explicit null hand the roles back to identity.roleClaims", () => {
    expect(
      effective({
        preset: "okta",
        issuer: "https://example.okta.com/oauth2/default",
        audiences: ["a"],
        roleClaims: null,
      }).roleClaims,
    ).toBeNull();
  });

  it("merges logout field by field: a written url keeps the preset's method", () => {
    const p = effective({
      preset: "cognito",
      issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
      audiences: ["a"],
      logout: { url: "https://auth.example.com/logout" },
    });
    expect(p.logout).toEqual({ method: "cognito", url: "https://auth.example.com/logout", idTokenHint: false });
  });

  it("lets a written audienceClaim and accessTokenClaims replace the preset's", () => {
    const p = effective({
      preset: "cognito",
      issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC",
      audiences: ["a"],
      audienceClaim: "aud",
      accessTokenClaims: {},
    });
    expect(p.audienceClaim).toBe("aud");
    expect(p.accessTokenClaims).toEqual({});
  });

  it("reports a bad value of the user's under the key the user wrote, whatever the preset", () => {
    expect(
      problems(
        parse({
          preset: "keycloak",
          issuer: "https://sso.example.com/realms/corp",
          audiences: ["a"],
          roleClaims: "realm_access.roles",
        }),
      ),
    ).toEqual(['providers.idp.roleClaims: must be a list or null (got "realm_access.roles")']);
  });

  it("gives a provider without a preset the behaviour of plain OIDC", () => {
    const p = effective({ issuer: "https://idp.example.com", audiences: ["a"] });
    expect(p).toMatchObject({
      preset: null,
      roleClaims: null,
      groupClaims: null,
      authorizationParams: {},
      tokenIssuers: [],
      audienceClaim: "aud",
      accessTokenClaims: {},
      opaqueAccessTokens: false,
      logout: { method: "end_session", url: null },
    });
  });
});

describe("check-config and presets", () => {
  const dir = mkdtempSync(join(tmpdir(), "portcullis-presets-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function checkConfig(providerLines: string): Promise<{ code: number; out: string }> {
    const file = join(dir, `c${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      file,
      `providers:\n  p:\n${providerLines}    issuer: https://idp.example.com/\n    clientId: c\n    clientSecret: s\n`,
    );
    let out = "";
    const io = { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (out += t) }, env: {} };
    return { code: await runCheckConfig(["--config", file], io), out };
  }

  it("rejects an unknown preset, naming the key path and every valid preset", async () => {
    const { code, out } = await checkConfig("    preset: no-such-idp\n");
    expect(code).toBe(1);
    expect(out).toContain(`error: providers.p.preset: must be one of ${PRESET_NAMES.join(", ")} (got "no-such-idp")`);
  });

  it.each(PRESET_NAMES)("gives preset %s the same check-config outcome as no preset", async (name) => {
    const without = await checkConfig("");
    const withPreset = await checkConfig(`    preset: ${name}\n`);
    const errors = (out: string) => out.split("\n").filter((line) => line.startsWith("error: "));
    expect(withPreset.code).toBe(without.code);
    expect(errors(withPreset.out)).toEqual(errors(without.out));
  });

  it("names the preset in the summary of a valid config", async () => {
    const file = join(dir, "valid.yaml");
    writeFileSync(
      file,
      "providers:\n  corp:\n    preset: keycloak\n    issuer: https://sso.example.com/realms/corp\n    audiences: [api]\nroutes:\n  - {name: app, match: {path: /}, auth: required}\n",
    );
    let out = "";
    const code = await runCheckConfig(["--config", file], {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: () => true },
      env: {},
    });
    expect(code).toBe(0);
    expect(out).toContain("corp: issuer https://sso.example.com/realms/corp, audiences api, preset keycloak");
  });
});

describe("check-config rules for the IdP-convention keys", () => {
  const organizations = {
    preset: "entra",
    issuer: "https://login.microsoftonline.com/organizations/v2.0",
    audiences: ["api://orders"],
  };

  it("requires allowedTenants or allowAnyTenant for a multi-tenant Entra issuer", () => {
    expect(problems(parse(organizations))).toEqual([
      "providers.idp.allowedTenants: is required with the multi-tenant issuer https://login.microsoftonline.com/{tenantid}/v2.0: list the tenant ids (tid) whose users may sign in, or set allowAnyTenant: true to accept every tenant",
    ]);
  });

  it("accepts every tenant only when told to, and warns about it", () => {
    const result = parse({ ...organizations, allowAnyTenant: true });
    expect(problems(result)).toEqual([]);
    expect(warnings(result)).toEqual([
      "providers.idp.allowAnyTenant: is true: users of every tenant can sign in; restrict routes by role or claim, or list allowedTenants",
    ]);
  });

  it("rejects allowedTenants together with allowAnyTenant", () => {
    expect(problems(parse({ ...organizations, allowedTenants: ["t1"], allowAnyTenant: true }))).toEqual([
      "providers.idp.allowAnyTenant: contradicts allowedTenants: keep one of them",
    ]);
  });

  it("rejects allowedTenants on a single-tenant provider, where they would mean nothing", () => {
    expect(problems(parse({ issuer: "https://idp.example.com", audiences: ["a"], allowedTenants: ["t1"] }))).toEqual([
      "providers.idp.allowedTenants: only applies to a multi-tenant issuer (a tokenIssuers entry with {tenantid})",
    ]);
  });

  it("rejects a {tenantid} template as the issuer itself, which cannot be discovered", () => {
    expect(
      problems(parse({ issuer: "https://login.microsoftonline.com/{tenantid}/v2.0", audiences: ["a"] }))[0],
    ).toMatch(/^providers\.idp\.issuer: cannot hold \{tenantid\}/);
  });

  it("rejects braces other than {tenantid} in a token issuer", () => {
    expect(
      problems(
        parse({
          issuer: "https://idp.example.com",
          audiences: ["a"],
          tokenIssuers: ["https://idp.example.com/{tenant}/"],
        }),
      ),
    ).toEqual(["providers.idp.tokenIssuers[0]: only {tenantid} may be written in braces"]);
  });

  it("rejects a token issuer that belongs to another provider", () => {
    const result = parseCheckedConfig({
      providers: {
        a: { issuer: "https://a.example.com", audiences: ["x"] },
        b: { issuer: "https://b.example.com", audiences: ["x"], tokenIssuers: ["https://a.example.com"] },
      },
      routes: [route],
    });
    expect(problems(result)).toEqual([
      "providers.b.tokenIssuers[0]: is an issuer of providers.a too; each issuer may belong to one provider",
    ]);
  });

  it("rejects a protocol parameter in authorizationParams", () => {
    expect(
      problems(
        parse({
          issuer: "https://idp.example.com",
          audiences: ["a"],
          authorizationParams: { redirect_uri: "https://evil.example/cb", audience: "x" },
        }),
      ),
    ).toEqual([
      "providers.idp.authorizationParams.redirect_uri: is set by Portcullis itself for every login and cannot be configured",
    ]);
  });

  it("rejects claimNamespace without the auth0 preset", () => {
    expect(
      problems(
        parse({
          preset: "okta",
          issuer: "https://example.okta.com/oauth2/default",
          audiences: ["a"],
          claimNamespace: "https://example.com/",
        }),
      ),
    ).toEqual(["providers.idp.claimNamespace: is read only by preset: auth0; set roleClaims and groupClaims instead"]);
  });

  it("rejects an http logout url without allowInsecureHttp", () => {
    expect(
      problems(
        parse({
          issuer: "https://idp.example.com",
          audiences: ["a"],
          logout: { url: "http://idp.example.com/logout" },
        }),
      ),
    ).toEqual([
      "providers.idp.logout.url: must be an https:// URL (got an http:// URL); set allowInsecureHttp: true for local development only",
    ]);
  });

  it("refuses introspection for Google, which offers none", () => {
    const result = parse({
      preset: "google",
      issuer: "https://accounts.google.com",
      audiences: ["a"],
      clientId: "c",
      clientSecret: "s",
      introspection: { enabled: true },
    });
    expect(problems(result)[0]).toMatch(
      /^providers\.idp\.introspection\.enabled: Google has no RFC 7662 introspection endpoint/,
    );
  });

  it("warns that Okta's org authorization server issues access tokens Portcullis cannot validate", () => {
    expect(warnings(parse({ preset: "okta", issuer: "https://example.okta.com", audiences: ["a"] }))[0]).toMatch(
      /^providers\.idp\.issuer: is Okta's org authorization server/,
    );
    expect(
      warnings(parse({ preset: "okta", issuer: "https://example.okta.com/oauth2/default", audiences: ["a"] })),
    ).toEqual([]);
  });

  it("warns when audiences include the login client id without a token-type check, where an ID token could pass for an access token", () => {
    const entra = {
      preset: "entra",
      issuer: "https://login.microsoftonline.com/t1/v2.0",
      ...login,
      clientId: "app-guid",
      audiences: ["app-guid"],
    };
    expect(warnings(parse(entra))).toEqual([
      'providers.idp.audiences: includes the login client id "app-guid" without a token-type check, so an ID token issued to that client could pass as an access token: set requireAccessTokenType: true (IdP issues typ at+jwt) or accessTokenClaims (e.g. token_use: access), or give the API an audience of its own (Entra: api://<app-id>)',
    ]);
    expect(warnings(parse({ ...entra, requireAccessTokenType: true }))).toEqual([]);
    expect(warnings(parse({ ...entra, audiences: ["api://orders"] }))).toEqual([]);
    // Keycloak's preset checks typ: Bearer; Google's ID tokens are its bearer credential.
    expect(
      warnings(
        parse({
          preset: "keycloak",
          issuer: "https://sso.example.com/realms/corp",
          ...login,
          audiences: ["portcullis"],
        }),
      ),
    ).toEqual([]);
    expect(
      warnings(parse({ preset: "google", issuer: "https://accounts.google.com", ...login, audiences: ["portcullis"] })),
    ).toEqual([]);
  });

  it("warns when introspection accepts answers without an audience", () => {
    const introspecting = {
      issuer: "https://idp.example.com",
      audiences: ["orders-api"],
      clientId: "gw",
      clientSecret: "s",
    };
    expect(warnings(parse({ ...introspecting, introspection: { enabled: true, requireAudience: false } }))).toEqual([
      "providers.idp.introspection.requireAudience: is false: an active token whose introspection answer names no aud is accepted, even one the provider minted for another resource server; keep it true unless the provider never reports aud",
    ]);
    expect(warnings(parse({ ...introspecting, introspection: { enabled: true } }))).toEqual([]);
  });

  it("warns when an Auth0 login asks for no audience, so its access token would be opaque", () => {
    const result = parse({
      preset: "auth0",
      issuer: "https://t.auth0.com/",
      audiences: ["a"],
      ...login,
      authorizationParams: {},
    });
    expect(warnings(result)).toEqual([
      "providers.idp.authorizationParams: has no audience: Auth0 then issues an opaque access token at login, and sessions get roles and groups from the ID token only",
    ]);
    expect(warnings(parse({ preset: "auth0", issuer: "https://t.auth0.com/", audiences: ["a"], ...login }))).toEqual(
      [],
    );
  });
});
