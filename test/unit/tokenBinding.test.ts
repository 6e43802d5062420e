// Sender-constrained tokens at the gate: a token's `cnf` is checked against the request's proof on
// every check (cached or not), a bound token without its proof is refused as before, a route or
// provider can demand bound tokens, and a route can admit a machine by its certificate alone.
import { describe, expect, it } from "vitest";
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";
import type { ClientCertificate } from "../../src/core/ClientCertificate.ts";
import type { Deny } from "../../src/core/Decision.ts";
import { createTokenBinding } from "../../src/core/createTokenBinding.ts";
import type { VerifyOutcome } from "../../src/core/Gate.ts";
import type { TokenBinding } from "../../src/core/TokenBinding.ts";
import { headerOf, removalsOf } from "../harness/checkOutcome.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";
import { NO_REQUIREMENTS } from "../harness/noRequirements.ts";

const THUMBPRINT = "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2";
const OTHER_THUMBPRINT = "A".repeat(43);
const SPIFFE = "spiffe://example.org/ns/billing/sa/api";

const certificate = (over: Partial<ClientCertificate> = {}): ClientCertificate => ({
  thumbprint: THUMBPRINT,
  subject: "CN=billing,O=Example",
  uris: [SPIFFE],
  dnsNames: ["billing.internal"],
  ...over,
});

const route = (name: string, path: string, extra: Partial<RouteConfig> = {}): RouteConfig => ({
  name,
  match: { hosts: [], path },
  auth: "required",
  providers: [],
  ...extra,
});

const ROUTES: RouteConfig[] = [
  route("plain", "/plain"),
  route("mtls", "/mtls", { require: requireBound("mtls") }),
  route("open", "/open", { require: requireBound("none") }),
  route("machines", "/machines", {
    mtls: {
      trustForwardedClientCert: false,
      forwardedClientCertElements: "one",
      clients: [{ clientId: "billing", spiffeId: SPIFFE }],
    },
  }),
  route("behind-proxy", "/proxied", {
    mtls: {
      trustForwardedClientCert: true,
      forwardedClientCertElements: "one",
      clients: [{ clientId: "billing", spiffeId: SPIFFE }],
    },
  }),
];

function requireBound(boundTokens: "mtls" | "dpop" | "any" | "none"): NonNullable<RouteConfig["require"]> {
  return { ...NO_REQUIREMENTS, boundTokens };
}

const outcome = (cnf: unknown): VerifyOutcome => ({
  ok: true,
  provider: "corp",
  claims: { sub: "alice", exp: 2_000_000_000, ...(cnf === undefined ? {} : { cnf }) },
  expiresAt: 2_000_000_000,
});

const TOKENS = {
  plain: outcome(undefined),
  bound: outcome({ "x5t#S256": THUMBPRINT }),
  dpop: outcome({ jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }),
  other: outcome({ kid: "some-key" }),
  scalar: outcome("bound"),
  empty: outcome({}),
  junk: outcome({ "x5t#S256": "not a thumbprint" }),
  both: outcome({ "x5t#S256": THUMBPRINT, jkt: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }),
};

const gate = (extra: { binding?: TokenBinding } = {}) =>
  gateOver({ routes: ROUTES, tokens: TOKENS, tokenCache: true, ...extra }).gate;
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

describe("a sender-constrained token presented as a plain bearer token", () => {
  it.each([
    ["a DPoP-bound token (cnf.jkt)", "dpop"],
    ["an mTLS-bound token (cnf x5t#S256) without a client certificate", "bound"],
    ["a token with any other cnf", "other"],
    ["a token whose cnf is not even an object", "scalar"],
    ["a token whose cnf names no method", "empty"],
    ["a token whose cnf x5t#S256 is not a thumbprint", "junk"],
  ])("refuses %s with 401 invalid_token (type_not_allowed), on every check", async (_name, token) => {
    const g = gate();
    for (let i = 0; i < 3; i++) {
      const d = (await g.decide(checkRequest("/plain", bearer(token)))) as Deny;
      expect(d).toMatchObject({ kind: "deny", status: 401, code: "type_not_allowed", provider: "corp" });
      expect(d.detail).toContain("sender-constrained token presented as a bearer token");
      expect(headerOf(d, "www-authenticate")).toMatch(/^Bearer realm="portcullis", error="invalid_token"/);
    }
  });

  it("refuses a token bound to a certificate and a key when only the certificate is proven", async () => {
    const d = await gate().decide(checkRequest("/plain", bearer("both"), { clientCertificate: certificate() }));
    expect(d).toMatchObject({ kind: "deny", code: "type_not_allowed" });
  });
});

describe("certificate-bound tokens (RFC 8705)", () => {
  it("allows a token whose cnf x5t#S256 is the client certificate's thumbprint, cached or not", async () => {
    const g = gate();
    for (let i = 0; i < 3; i++) {
      const d = await g.decide(checkRequest("/plain", bearer("bound"), { clientCertificate: certificate() }));
      expect(d).toMatchObject({ kind: "allow", route: "plain", credential: "bearer" });
    }
  });

  it("refuses the same token, already cached, from a client with another certificate", async () => {
    const g = gate();
    await g.decide(checkRequest("/plain", bearer("bound"), { clientCertificate: certificate() }));
    const stolen = { clientCertificate: certificate({ thumbprint: OTHER_THUMBPRINT }) };
    const d = (await g.decide(checkRequest("/plain", bearer("bound"), stolen))) as Deny;
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "token_binding_mismatch" });
    expect(headerOf(d, "www-authenticate")).toContain('error="invalid_token"');
  });

  it("says in the log detail that Envoy sent a certificate it could not read", async () => {
    const d = (await gate().decide(
      checkRequest("/plain", bearer("bound"), { clientCertificateUnreadable: true }),
    )) as Deny;
    expect(d.detail).toContain("cannot be read");
  });
});

describe("require.boundTokens", () => {
  it("refuses a plain bearer token where the route demands mtls, with the Bearer invalid_token challenge", async () => {
    const d = (await gate().decide(
      checkRequest("/mtls", bearer("plain"), { clientCertificate: certificate() }),
    )) as Deny;
    expect(d).toMatchObject({ kind: "deny", status: 401, code: "bound_token_required" });
    expect(headerOf(d, "www-authenticate")).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="this route requires a sender-constrained token"',
    );
  });

  it("allows a certificate-bound token with its certificate where the route demands mtls", async () => {
    const d = await gate().decide(checkRequest("/mtls", bearer("bound"), { clientCertificate: certificate() }));
    expect(d).toMatchObject({ kind: "allow", route: "mtls" });
  });

  it("follows the provider's boundTokens where the route says nothing, and the route's where it does", async () => {
    const binding = createTokenBinding({ providers: new Map([["corp", "mtls"]]) });
    const g = gate({ binding });
    expect(await g.decide(checkRequest("/plain", bearer("plain")))).toMatchObject({ code: "bound_token_required" });
    expect(await g.decide(checkRequest("/open", bearer("plain")))).toMatchObject({ kind: "allow", route: "open" });
    const bound = await g.decide(checkRequest("/plain", bearer("bound"), { clientCertificate: certificate() }));
    expect(bound).toMatchObject({ kind: "allow", route: "plain" });
  });

  it("removes a client's x-forwarded-client-cert upstream where only the provider demands certificate-bound tokens", async () => {
    // As check-config --envoy lists it for this config: read by no route, removed before the upstream.
    const { gate: g } = gateOver({
      routes: [route("plain", "/plain")],
      tokens: TOKENS,
      providerBoundTokens: { corp: "mtls" },
    });
    const forged = { ...bearer("bound"), "x-forwarded-client-cert": `Hash=${"a".repeat(64)};URI=${SPIFFE}` };
    const d = await g.decide(checkRequest("/plain", forged, { clientCertificate: certificate() }));
    expect(d).toMatchObject({ kind: "allow", route: "plain" });
    expect(removalsOf(d)).toContain("x-forwarded-client-cert");
  });

  it("refuses a DPoP-bound token where the route demands mtls", async () => {
    const d = await gate().decide(checkRequest("/mtls", bearer("dpop"), { clientCertificate: certificate() }));
    expect(d).toMatchObject({ kind: "deny", code: "bound_token_required" });
  });
});

describe("machines admitted by their certificate alone", () => {
  it("admits a certificate whose SPIFFE ID is listed, with x-client-id and no token", async () => {
    const d = await gate().decide(checkRequest("/machines", {}, { clientCertificate: certificate() }));
    expect(d).toMatchObject({ kind: "allow", credential: "certificate", caller: { kind: "client", id: "billing" } });
    expect(headerOf(d, "x-client-id")).toBe("billing");
    expect(headerOf(d, "x-user-sub")).toBeUndefined();
  });

  it("answers 401 token_missing to a certificate it does not list, and to no certificate", async () => {
    const stranger = certificate({ uris: ["spiffe://example.org/ns/other/sa/api"] });
    expect(await gate().decide(checkRequest("/machines", {}, { clientCertificate: stranger }))).toMatchObject({
      code: "token_missing",
    });
    expect(await gate().decide(checkRequest("/machines", {}))).toMatchObject({ code: "token_missing" });
  });

  it("does not read a SPIFFE ID from a certificate with more than one URI name", async () => {
    const two = certificate({ uris: [SPIFFE, "https://billing.example.org"] });
    expect(await gate().decide(checkRequest("/machines", {}, { clientCertificate: two }))).toMatchObject({
      code: "token_missing",
    });
  });

  it("ignores x-forwarded-client-cert on a route that does not trust the hop, and removes it upstream", async () => {
    const forged = `Hash=${"a".repeat(64)};URI=${SPIFFE}`;
    const refused = await gate().decide(checkRequest("/machines", { "x-forwarded-client-cert": forged }));
    expect(refused).toMatchObject({ code: "token_missing" });
    const allowed = await gate().decide(
      checkRequest("/machines", { "x-forwarded-client-cert": forged }, { clientCertificate: certificate() }),
    );
    expect(removalsOf(allowed)).toContain("x-forwarded-client-cert");
  });

  it("reads the certificate from x-forwarded-client-cert on a route that trusts the hop, never Envoy's peer", async () => {
    const forwarded = `By=spiffe://example.org/gw;Hash=${"ab".repeat(32)};Subject="CN=billing,O=Example";URI=${SPIFFE}`;
    const d = await gate().decide(checkRequest("/proxied", { "x-forwarded-client-cert": forwarded }));
    expect(d).toMatchObject({ kind: "allow", caller: { kind: "client", id: "billing" } });
    expect(removalsOf(d)).not.toContain("x-forwarded-client-cert");
    const peerOnly = await gate().decide(checkRequest("/proxied", {}, { clientCertificate: certificate() }));
    expect(peerOnly).toMatchObject({ code: "token_missing" });
  });

  it("refuses a forwarded header with two elements (two hops) unless told to read the last", async () => {
    const element = `Hash=${"ab".repeat(32)};URI=${SPIFFE}`;
    const d = await gate().decide(checkRequest("/proxied", { "x-forwarded-client-cert": `${element},${element}` }));
    expect(d).toMatchObject({ code: "token_missing" });
  });

  it("prefers a bearer token to the certificate: the token's binding and identity decide", async () => {
    const d = await gate().decide(checkRequest("/machines", bearer("plain"), { clientCertificate: certificate() }));
    expect(d).toMatchObject({ kind: "allow", credential: "bearer", caller: { kind: "user", id: "alice" } });
  });
});
