// The config of sender-constrained tokens and mTLS clients: parsed strictly with key paths and a fix
// in every message, and what it asks of Envoy: include_peer_certificate and x-forwarded-client-cert
// in allowed_headers only for a config that reads them (check-config --envoy).
import { describe, expect, it } from "vitest";
import { envoyAllowedHeaders } from "../../src/app/envoyAllowedHeaders.ts";
import { renderEnvoyExtAuthzFilter } from "../../src/app/renderEnvoyExtAuthzFilter.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";

const PROVIDER = { issuer: "https://idp.example.com", audiences: ["api"] };
const SPIFFE = "spiffe://example.org/ns/billing/sa/api";

function parsed(routes: unknown[], provider: Record<string, unknown> = {}) {
  return parseConfig({ providers: { corp: { ...PROVIDER, ...provider } }, routes });
}

function config(routes: unknown[], provider: Record<string, unknown> = {}): PortcullisConfig {
  const result = parsed(routes, provider);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.config;
}

const problemsOf = (routes: unknown[], provider: Record<string, unknown> = {}) => {
  const result = parsed(routes, provider);
  return result.ok ? [] : result.problems;
};

describe("the config of bound tokens and mTLS clients", () => {
  it("defaults to no demand and no mTLS: boundTokens null on routes, none on providers", () => {
    const c = config([{ name: "api", auth: "required" }]);
    expect(c.routes[0]!.require?.boundTokens).toBeNull();
    expect(c.routes[0]!.mtls).toEqual({
      trustForwardedClientCert: false,
      forwardedClientCertElements: "one",
      clients: [],
    });
    expect(c.providers["corp"]!.boundTokens).toBe("none");
  });

  it("refuses an unknown boundTokens with its key path and the values it takes", () => {
    expect(problemsOf([{ name: "api", auth: "required", require: { boundTokens: "tls" } }])).toEqual([
      expect.objectContaining({
        path: "routes[0].require.boundTokens",
        message: expect.stringContaining("mtls, dpop, any, none"),
      }),
    ]);
    expect(problemsOf([{ name: "api", auth: "required" }], { boundTokens: "yes" })).toEqual([
      expect.objectContaining({ path: "providers.corp.boundTokens" }),
    ]);
  });

  it("asks for exactly one selector per certificate client, and says which", () => {
    const route = (client: Record<string, unknown>) => [{ name: "m", auth: "required", mtls: { clients: [client] } }];
    expect(problemsOf(route({ clientId: "billing" }))).toEqual([
      expect.objectContaining({
        path: "routes[0].mtls.clients[0]",
        message: expect.stringContaining("exactly one of"),
      }),
    ]);
    expect(problemsOf(route({ clientId: "billing", spiffeId: SPIFFE, dnsName: "billing.internal" }))).toEqual([
      expect.objectContaining({ message: expect.stringContaining("spiffeId and dnsName") }),
    ]);
    expect(problemsOf(route({ clientId: "billing", spiffeId: SPIFFE }))).toEqual([]);
  });

  it("refuses a SPIFFE ID, DNS name or thumbprint of the wrong shape with the form it wants", () => {
    const route = (client: Record<string, unknown>) => [{ name: "m", auth: "required", mtls: { clients: [client] } }];
    expect(problemsOf(route({ clientId: "b", spiffeId: "spiffe://Example.org/x/" }))[0]).toMatchObject({
      path: "routes[0].mtls.clients[0].spiffeId",
      message: expect.stringContaining("spiffe://<trust domain"),
    });
    expect(problemsOf(route({ clientId: "b", dnsName: "*.internal" }))[0]?.path).toBe(
      "routes[0].mtls.clients[0].dnsName",
    );
    expect(problemsOf(route({ clientId: "b", thumbprint: "abc" }))[0]?.message).toContain("43 base64url");
    expect(problemsOf(route({ clientId: "two words", uri: "urn:x" }))[0]?.path).toBe(
      "routes[0].mtls.clients[0].clientId",
    );
  });

  it("refuses certificate clients on a public route", () => {
    const routes = [{ name: "m", auth: "public", mtls: { clients: [{ clientId: "b", spiffeId: SPIFFE }] } }];
    expect(problemsOf(routes)).toEqual([
      expect.objectContaining({ path: "routes[0].mtls.clients", message: expect.stringContaining("auth: public") }),
    ]);
  });

  it("refuses certificate clients on a route that is public by the whitelist mode's default", () => {
    // Written without auth in whitelist mode, the route is public: its clients would admit everyone.
    const result = parseConfig({
      providers: { corp: PROVIDER },
      policy: { mode: "whitelist" },
      routes: [{ name: "m", match: { path: "/m" }, mtls: { clients: [{ clientId: "b", spiffeId: SPIFFE }] } }],
    });
    expect(result.ok ? [] : result.problems).toEqual([
      expect.objectContaining({
        path: "routes[0].mtls.clients",
        message: expect.stringContaining("the whitelist mode default"),
      }),
    ]);
  });
});

describe("what a config asks of Envoy (check-config --envoy)", () => {
  const plain = config([{ name: "api", auth: "required" }]);

  it("keeps include_peer_certificate false and x-forwarded-client-cert out without mTLS", () => {
    expect(renderEnvoyExtAuthzFilter(plain)).toContain("include_peer_certificate: false");
    expect(envoyAllowedHeaders(plain).map((h) => h.name)).not.toContain("x-forwarded-client-cert");
  });

  it.each([
    ["a route demanding mtls", [{ name: "api", auth: "required", require: { boundTokens: "mtls" } }], {}],
    ["a route demanding any", [{ name: "api", auth: "required", require: { boundTokens: "any" } }], {}],
    ["a provider demanding mtls", [{ name: "api", auth: "required" }], { boundTokens: "mtls" }],
    [
      "a route admitting certificate clients",
      [{ name: "api", auth: "required", mtls: { clients: [{ clientId: "b", spiffeId: SPIFFE }] } }],
      {},
    ],
  ])("prints include_peer_certificate: true for %s", (_name, routes, provider) => {
    const c = config(routes, provider);
    expect(renderEnvoyExtAuthzFilter(c)).toContain("include_peer_certificate: true");
    expect(envoyAllowedHeaders(c).map((h) => h.name)).toContain("x-forwarded-client-cert");
  });

  it("asks for x-forwarded-client-cert, not the peer certificate, where every mTLS route trusts the hop in front", () => {
    const c = config([
      {
        name: "api",
        auth: "required",
        mtls: { trustForwardedClientCert: true, clients: [{ clientId: "b", spiffeId: SPIFFE }] },
      },
    ]);
    expect(renderEnvoyExtAuthzFilter(c)).toContain("include_peer_certificate: false");
    expect(envoyAllowedHeaders(c).map((h) => h.name)).toContain("x-forwarded-client-cert");
  });

  it("leaves a route that demands only DPoP without the certificate", () => {
    const c = config([{ name: "api", auth: "required", require: { boundTokens: "dpop" } }], {
      dpop: { enabled: true },
    });
    expect(renderEnvoyExtAuthzFilter(c)).toContain("include_peer_certificate: false");
  });
});
