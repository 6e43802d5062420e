// The oidc pieces behind the presets, on plain data: which issuers a provider owns (aliases,
// {tenantid} templates), the logout URL each method builds, and that extra login parameters never
// replace the protocol's own.
import { createLocalJWKSet } from "jose";
import { describe, expect, it } from "vitest";
import { buildLogoutUrl, type LogoutUrlInput } from "../../src/oidc/buildLogoutUrl.ts";
import { createIssuerPolicy } from "../../src/oidc/createIssuerPolicy.ts";
import { createLoginClient } from "../../src/oidc/createLoginClient.ts";

const ENTRA = "https://login.microsoftonline.com";
const T1 = "9f3c6d2e-0b1a-4e5f-8a7b-1c2d3e4f5a6b";
const T2 = "3c1f5b7a-2d4e-4f60-9a8b-7c6d5e4f3a2b";

describe("issuer policy", () => {
  const multiTenant = createIssuerPolicy({
    issuer: `${ENTRA}/organizations/v2.0`,
    tokenIssuers: [`${ENTRA}/{tenantid}/v2.0`, "https://sts.windows.net/{tenantid}/"],
    allowedTenants: [T1],
  });

  it("accepts a template's issuer only with the token's own tid, from an allowed tenant", () => {
    expect(multiTenant.check({ iss: `${ENTRA}/${T1}/v2.0`, tid: T1 })).toBeNull();
    expect(multiTenant.check({ iss: `https://sts.windows.net/${T1}/`, tid: T1 })).toBeNull();
    expect(multiTenant.check({ iss: `${ENTRA}/${T2}/v2.0`, tid: T2 })).toMatch(/not in allowedTenants/);
    expect(multiTenant.check({ iss: `${ENTRA}/${T1}/v2.0`, tid: T2 })).toMatch(/does not name the tenant/);
    expect(multiTenant.check({ iss: `${ENTRA}/${T1}/v2.0` })).toMatch(/does not name the tenant/);
    expect(multiTenant.issuerOf({ iss: `${ENTRA}/${T1}/v2.0`, tid: T1 })).toBe(`${ENTRA}/${T1}/v2.0`);
  });

  it("matches a template on one whole path segment, with its fixed part taken literally", () => {
    expect(multiTenant.recognizes(`${ENTRA}/${T1}/v2.0`)).toBe(true);
    expect(multiTenant.recognizes(`${ENTRA}/${T1}/extra/v2.0`)).toBe(false);
    expect(multiTenant.recognizes(`${ENTRA}/${T1}/v2.0/`)).toBe(false);
    expect(multiTenant.recognizes(`https://loginXmicrosoftonline.com/${T1}/v2.0`)).toBe(false);
    expect(multiTenant.recognizes(`${ENTRA}/${T1}/v2x0`)).toBe(false);
  });

  it("lets discovery name a template only when it is one of the provider's token issuers", () => {
    expect(multiTenant.acceptsDiscoveryIssuer(`${ENTRA}/{tenantid}/v2.0`)).toBe(true);
    expect(multiTenant.acceptsDiscoveryIssuer(`${ENTRA}/organizations/v2.0`)).toBe(true);
    expect(multiTenant.acceptsDiscoveryIssuer(`https://sts.windows.net/${T1}/`)).toBe(false);
    expect(
      createIssuerPolicy({ issuer: "https://idp.example.com" }).acceptsDiscoveryIssuer(`${ENTRA}/{tenantid}/v2.0`),
    ).toBe(false);
  });

  it("takes every tenant with allowAnyTenant, and exact aliases without a tid", () => {
    const any = createIssuerPolicy({
      issuer: `${ENTRA}/common/v2.0`,
      tokenIssuers: [`${ENTRA}/{tenantid}/v2.0`],
      allowAnyTenant: true,
    });
    expect(any.check({ iss: `${ENTRA}/${T2}/v2.0`, tid: T2 })).toBeNull();
    const google = createIssuerPolicy({ issuer: "https://accounts.google.com", tokenIssuers: ["accounts.google.com"] });
    expect(google.check({ iss: "accounts.google.com" })).toBeNull();
    expect(google.check({ iss: "https://accounts.google.com/" })).toMatch(/not the provider's issuer/);
  });
});

describe("logout URL", () => {
  const base: LogoutUrlInput = {
    method: "end_session",
    url: null,
    metadata: {
      authorization_endpoint: "https://auth.example.com/oauth2/authorize",
      end_session_endpoint: "https://idp.example.com/logout",
    },
    issuer: "https://idp.example.com",
    clientId: "portcullis",
    idTokenHint: "id.token.hint",
    sendIdTokenHint: true,
    postLogoutRedirectUri: "https://app.example.com/",
  };
  const idToken = (claims: Record<string, unknown>) =>
    `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;

  it("keeps the ID token out of the URL unless the provider needs it: client_id and a logout_hint (login_hint claim, else sid) instead", () => {
    const withSid = new URL(
      buildLogoutUrl({ ...base, sendIdTokenHint: false, idTokenHint: idToken({ sub: "u1", sid: "s-42" }) }) as string,
    );
    expect([...withSid.searchParams]).toEqual([
      ["logout_hint", "s-42"],
      ["post_logout_redirect_uri", "https://app.example.com/"],
      ["client_id", "portcullis"],
    ]);
    const entra = new URL(
      buildLogoutUrl({
        ...base,
        sendIdTokenHint: false,
        idTokenHint: idToken({ sid: "s-42", login_hint: "O.aX-entra" }),
      }) as string,
    );
    expect(entra.searchParams.get("logout_hint")).toBe("O.aX-entra");
    const bare = new URL(buildLogoutUrl({ ...base, sendIdTokenHint: false, idTokenHint: null }) as string);
    expect([...bare.searchParams.keys()]).toEqual(["post_logout_redirect_uri", "client_id"]);
  });

  it("sends an OIDC logout to a configured endpoint, keeping that endpoint's own query", () => {
    const url = new URL(buildLogoutUrl({ ...base, url: "https://idp.example.com/custom/logout?tenant=a" }) as string);
    expect([...url.searchParams]).toEqual([
      ["tenant", "a"],
      ["id_token_hint", "id.token.hint"],
      ["post_logout_redirect_uri", "https://app.example.com/"],
      ["client_id", "portcullis"],
    ]);
  });

  it("is null for local logout, and for end_session without an endpoint", () => {
    expect(buildLogoutUrl({ ...base, method: "local" })).toBeNull();
    expect(buildLogoutUrl({ ...base, metadata: {} })).toBeNull();
  });

  it("builds Auth0's /v2/logout under an issuer written without its trailing slash", () => {
    expect(buildLogoutUrl({ ...base, method: "auth0", metadata: {}, issuer: "https://t.eu.auth0.com" })).toBe(
      "https://t.eu.auth0.com/v2/logout?client_id=portcullis&returnTo=https%3A%2F%2Fapp.example.com%2F",
    );
  });

  it("builds Cognito's /logout from a configured url, and is null with neither a url nor an authorization endpoint", () => {
    expect(buildLogoutUrl({ ...base, method: "cognito", url: "https://login.example.com/logout" })).toBe(
      "https://login.example.com/logout?client_id=portcullis&logout_uri=https%3A%2F%2Fapp.example.com%2F",
    );
    expect(buildLogoutUrl({ ...base, method: "cognito", metadata: {} })).toBeNull();
  });
});

describe("login parameters", () => {
  it("never lets authorizationParams replace the protocol's own parameters", async () => {
    const client = createLoginClient({
      providerName: "idp",
      issuer: "https://idp.example.com",
      metadata: {
        issuer: "https://idp.example.com",
        authorization_endpoint: "https://idp.example.com/authorize",
        token_endpoint: "https://idp.example.com/token",
      },
      keys: createLocalJWKSet({ keys: [] }),
      clientId: "portcullis",
      clientSecret: "s",
      redirectUri: "https://app.example.com/oauth2/callback",
      scopes: ["openid"],
      algorithms: ["RS256"],
      clockToleranceSeconds: 5,
      timeoutMs: 1000,
      allowInsecureHttp: false,
      authorizationParams: {
        state: "attacker",
        redirect_uri: "https://evil.example/cb",
        audience: "https://api.example.com",
        prompt: "consent",
      },
    });
    const { url, transaction } = await client.begin({ returnTo: "https://app.example.com/", prompt: "login" });
    const q = new URL(url).searchParams;
    expect(q.getAll("state")).toEqual([transaction.state]);
    expect(q.getAll("redirect_uri")).toEqual(["https://app.example.com/oauth2/callback"]);
    expect(q.get("audience")).toBe("https://api.example.com");
    expect(q.getAll("prompt")).toEqual(["login"]);
  });
});
