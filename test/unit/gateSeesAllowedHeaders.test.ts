// What Envoy leaves out under allowed_headers changes no decision: for requests carrying every kind
// of header (a browser's, steering, identity, trace context, other cookies), the Gate reads only
// headers on the computed list, and decides exactly the same once the request holds only those.
// A new header read anywhere on the Check path fails here until envoyAllowedHeaders lists it.
import { describe, expect, it } from "vitest";
import { envoyAllowedHeaders } from "../../src/app/envoyAllowedHeaders.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { Session } from "../../src/session/Session.ts";
import type { SessionPort } from "../../src/login/SessionPort.ts";
import { checkRequest, gateOver } from "../harness/checkRequest.ts";

const parsed = parseConfig({
  providers: {
    corp: {
      issuer: "https://idp.example.com",
      audiences: ["api"],
      clientId: "web",
      clientSecret: "secret-secret",
      redirectUri: "https://app.example.com/oauth2/callback",
    },
  },
  session: { keys: ["k".repeat(43)] },
  identity: { claimHeaders: { "x-user-team": "team" } },
  routes: [
    { name: "public", match: { path: "/public" }, auth: "public" },
    { name: "optional", match: { path: "/optional" }, auth: "optional" },
    { name: "prefixed", match: { path: "/prefixed" }, auth: "required", forwardRequestHeaders: ["x-forwarded-prefix"] },
    { name: "admin", match: { path: "/admin" }, auth: "required", require: { roles: ["admin"] } },
    { name: "default", match: { path: "/" }, auth: "required" },
  ],
});
if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
const config = parsed.config;
const allowed = new Set(envoyAllowedHeaders(config).map((h) => h.name));

const claims = Object.freeze({ sub: "alice", email: "alice@example.com", roles: ["user"], team: "blue" });
const session: Session = {
  v: 1,
  id: "s1",
  provider: "corp",
  iss: "https://idp.example.com",
  sub: "carol",
  sid: null,
  claims: { sub: "carol", email: "carol@example.com" },
  accessToken: "at",
  accessTokenExpiresAt: 2_000_000_000,
  accessTokenIssuedAt: 1_700_000_000,
  refreshToken: null,
  idToken: null,
  authTime: null,
  createdAt: 1_700_000_000,
  expiresAt: 2_000_000_000,
};

/** Our cookies start with __Host-portcullis; one named `…=good` is a live session. */
const sessions: SessionPort = {
  cookiePrefix: "__Host-portcullis",
  owns: (name) => name.startsWith("__Host-portcullis"),
  parseCookies: (header) =>
    new Map(
      (header ?? "")
        .split(/;\s*/)
        .filter((p) => p.includes("="))
        .map((p) => p.split("=", 2) as [string, string]),
    ),
  load: async (cookies) =>
    cookies.get("__Host-portcullis") === "good"
      ? { kind: "session", session, present: ["__Host-portcullis"] }
      : cookies.has("__Host-portcullis")
        ? { kind: "invalid", clear: ["__Host-portcullis"] }
        : { kind: "none" },
  freshen: async (s) => ({ kind: "fresh", session: s, setCookies: [] }),
  consentScopesOf: () => new Set(),
  loginProviderFor: () => "corp",
  startLogin: async () => ({ kind: "redirect", location: "https://idp.example.com/authorize", setCookies: ["tx=1"] }),
};

const { gate } = gateOver({
  routes: config.routes,
  policy: config.policy,
  identity: config.identity,
  tokens: { good: { ok: true, provider: "corp", claims, expiresAt: 2_000_000_000 } },
  sessions,
});

/** Everything a client may send that Portcullis does not read, and the identity headers it owns. */
const NOISE: Record<string, string> = {
  "user-agent": "Mozilla/5.0",
  "accept-language": "en-GB",
  "accept-encoding": "gzip",
  "sec-fetch-site": "same-origin",
  "sec-fetch-dest": "document",
  referer: "https://app.example.com/",
  "x-forwarded-for": "203.0.113.9",
  "x-forwarded-proto": "http",
  "x-user-sub": "mallory",
  "x-user-email": "mallory@example.com",
  "x-user-roles": "admin",
  "x-user-context": "e30=",
  "x-client-id": "mallory",
  "x-user-team": "red",
  "x-envoy-original-path": "/admin",
};

const CASES: [path: string, headers: Record<string, string>][] = [
  ["/public/a", {}],
  ["/public/a", { cookie: "theme=dark; __Host-portcullis=good" }],
  ["/optional/a", {}],
  ["/optional/a", { authorization: "Bearer good" }],
  ["/api", { authorization: "Bearer good" }],
  ["/api", { authorization: "Bearer bad" }],
  ["/api", { authorization: "Basic eDp5" }],
  ["/api", { accept: "text/html", "sec-fetch-mode": "navigate" }],
  ["/api", { accept: "text/html", "sec-fetch-mode": "cors" }],
  ["/api", { accept: "text/html", "x-requested-with": "XMLHttpRequest" }],
  ["/api", { accept: "text/html", "content-type": "application/grpc" }],
  ["/api", { cookie: "theme=dark; __Host-portcullis=good", accept: "text/html" }],
  ["/api", { cookie: "__Host-portcullis=stale", accept: "text/html", "sec-fetch-mode": "navigate" }],
  ["/admin", { cookie: "__Host-portcullis=good", accept: "text/html", "sec-fetch-mode": "navigate" }],
  ["/admin", { authorization: "Bearer good" }],
  ["/prefixed/x", { authorization: "Bearer good", "x-forwarded-prefix": "/p", "x-forwarded-host": "evil" }],
  ["/api", { authorization: "Bearer good", forwarded: "host=evil", "x-http-method-override": "DELETE" }],
  ["/api", { authorization: "Bearer good", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }],
];

/** A header map that records each name the Gate reads from it. */
function recording(entries: Record<string, string>, read: Set<string>): Map<string, string> {
  class Recording extends Map<string, string> {
    override get(name: string) {
      read.add(name);
      return super.get(name);
    }
    override has(name: string) {
      read.add(name);
      return super.has(name);
    }
  }
  return new Recording(Object.entries(entries));
}

describe("the Gate under allowed_headers", () => {
  it.each(CASES)("reads only listed headers and decides the same on %s %j", async (path, headers) => {
    const read = new Set<string>();
    const full = { ...NOISE, ...headers };
    const all = await gate.decide(checkRequest(path, {}, { headers: recording(full, read) }));
    for (const name of read) expect(allowed, `the Gate read ${name}`).toContain(name);
    const onlyAllowed = Object.fromEntries(Object.entries(full).filter(([name]) => allowed.has(name)));
    const narrowed = await gate.decide(checkRequest(path, onlyAllowed));
    expect(narrowed).toEqual(all);
  });

  it("still overwrites or removes every identity header the client sent when it never saw them", async () => {
    const narrowed = await gate.decide(checkRequest("/public/a", {}));
    expect(narrowed.kind).toBe("allow");
    const removed = narrowed.kind === "allow" ? narrowed.removeHeaders : [];
    for (const name of ["x-user-sub", "x-user-email", "x-user-roles", "x-user-context", "x-client-id", "x-user-team"])
      expect(removed).toContain(name);
  });
});

describe("the Gate under allowed_headers with mTLS configured", () => {
  const SPIFFE = "spiffe://example.org/ns/billing/sa/api";
  // Browser login on, as above: the Gate reads the Cookie header only where it is listed.
  const mtls = parseConfig({
    providers: {
      corp: {
        issuer: "https://idp.example.com",
        audiences: ["api"],
        clientId: "web",
        clientSecret: "secret-secret",
        redirectUri: "https://app.example.com/oauth2/callback",
      },
    },
    session: { keys: ["k".repeat(43)] },
    routes: [
      {
        name: "machines",
        match: { path: "/machines" },
        auth: "required",
        mtls: { clients: [{ clientId: "b", spiffeId: SPIFFE }] },
      },
      {
        name: "proxied",
        match: { path: "/proxied" },
        auth: "required",
        mtls: { trustForwardedClientCert: true, clients: [{ clientId: "b", spiffeId: SPIFFE }] },
      },
      { name: "default", match: { path: "/" }, auth: "required", require: { boundTokens: "mtls" } },
    ],
  });
  if (!mtls.ok) throw new Error(JSON.stringify(mtls.problems));
  const listed = new Set(envoyAllowedHeaders(mtls.config).map((h) => h.name));
  const mtlsGate = gateOver({
    routes: mtls.config.routes,
    policy: mtls.config.policy,
    tokens: { good: { ok: true, provider: "corp", claims, expiresAt: 2_000_000_000 } },
    sessions,
  }).gate;
  const certificate = { thumbprint: "A".repeat(43), subject: "CN=b", uris: [SPIFFE], dnsNames: [] };
  const forged = { "x-forwarded-client-cert": `Hash=${"ab".repeat(32)};URI=${SPIFFE}` };

  it.each([
    ["/machines/x", forged],
    ["/proxied/x", forged],
    ["/api", { authorization: "Bearer good", ...forged }],
  ] as const)("reads only listed headers and decides the same on %s %j", async (path, headers) => {
    const read = new Set<string>();
    const full = { ...NOISE, ...headers };
    const over = { clientCertificate: certificate };
    const all = await mtlsGate.decide(checkRequest(path, {}, { ...over, headers: recording(full, read) }));
    for (const name of read) expect(listed, `the Gate read ${name}`).toContain(name);
    const onlyListed = Object.fromEntries(Object.entries(full).filter(([name]) => listed.has(name)));
    expect(await mtlsGate.decide(checkRequest(path, onlyListed, over))).toEqual(all);
  });
});
