// The demo's Portcullis configuration, written as the YAML a user would write (then parsed like
// any config file): one provider with browser login, and routes that show each kind of policy,
// mTLS ones too (a machine admitted by its client certificate, a route that demands bound tokens),
// and one whose upstream gets a token exchanged for its own audience (RFC 8693).

export const DEMO_STEP_UP_ACR = "urn:portcullis:loa:2";
/** The audience of the signed identity assertion the demo's upstream gets (and verifies). */
export const DEMO_ASSERTION_AUDIENCE = "demo-upstream";
/** The audience /orders's upstream gets a token for, exchanged from the caller's (the dev IdP grants only it). */
export const DEMO_EXCHANGE_AUDIENCE = "demo-orders";
/** The demo machine's SPIFFE ID: the one URI SAN of the client certificate the demo makes. */
export const DEMO_MACHINE_SPIFFE_ID = "spiffe://demo.portcullis.local/billing";
/** The client id the demo machine is admitted as by its certificate (x-client-id upstream). */
export const DEMO_MACHINE_CLIENT_ID = "billing";

export interface DemoConfigInput {
  readonly issuer: string;
  readonly audience: string;
  readonly webClient: { readonly id: string; readonly secret: string };
  readonly machineClientId: string;
  /** The service client that exchanges callers' tokens (RFC 8693) for DEMO_EXCHANGE_AUDIENCE on /orders. */
  readonly exchangeClient: { readonly id: string; readonly secret: string };
  /** The public origin browsers use, e.g. https://localhost:8443. */
  readonly entryOrigin: string;
  readonly sessionKey: string;
  readonly ports: { readonly grpc: number; readonly auth: number; readonly admin: number };
  /**
   * The session cookie's name when not the default: browsers send localhost cookies to every port,
   * so demos side by side need names of their own to keep their sessions apart.
   */
  readonly sessionCookieName?: string;
}

export function demoConfig(input: DemoConfigInput): Record<string, unknown> {
  return {
    listen: {
      grpc: `127.0.0.1:${input.ports.grpc}`,
      auth: `127.0.0.1:${input.ports.auth}`,
      admin: `127.0.0.1:${input.ports.admin}`,
    },
    providers: {
      demo: {
        issuer: input.issuer,
        audiences: [input.audience],
        allowInsecureHttp: true,
        clientId: input.webClient.id,
        clientSecret: input.webClient.secret,
        scopes: ["openid", "profile", "email", "offline_access", "api.read"],
        redirectUri: `${input.entryOrigin}/oauth2/callback`,
      },
    },
    session: {
      keys: [input.sessionKey],
      ...(input.sessionCookieName === undefined ? {} : { cookieName: input.sessionCookieName }),
    },
    // Every identified request carries a signed assertion the echo upstream verifies with jose; its
    // key is generated at start (one process, no Redis) and published on /.well-known/jwks.json.
    // Route and denial code as dynamic metadata: envoy.log has them as auth_route and auth_code.
    identity: {
      assertion: { enabled: true, issuer: input.entryOrigin, audience: DEMO_ASSERTION_AUDIENCE },
      metadata: { enabled: true },
    },
    routes: [
      { name: "public", match: { path: "/public" }, auth: "public" },
      { name: "favicon", match: { pathExact: "/favicon.ico" }, auth: "public" },
      { name: "api", match: { path: "/api" }, auth: "required", require: { scopes: ["api.read"] } },
      { name: "admin", match: { path: "/admin" }, auth: "required", require: { roles: ["admin"] } },
      {
        name: "internal",
        match: { path: "/internal" },
        auth: "required",
        require: { principal: "client", clients: [input.machineClientId] },
      },
      { name: "secure", match: { path: "/secure" }, auth: "required", require: { acr: [DEMO_STEP_UP_ACR] } },
      // The upstream gets its own token for demo-orders (same sub), exchanged at the IdP, never the caller's.
      {
        name: "orders",
        match: { path: "/orders" },
        auth: "required",
        exchange: {
          enabled: true,
          audience: [DEMO_EXCHANGE_AUDIENCE],
          clientId: input.exchangeClient.id,
          clientSecret: input.exchangeClient.secret,
        },
      },
      // On the mTLS entry (8444): the demo machine gets in by its certificate's SPIFFE ID, no token...
      {
        name: "machines",
        match: { path: "/machines" },
        auth: "required",
        mtls: { clients: [{ spiffeId: DEMO_MACHINE_SPIFFE_ID, clientId: DEMO_MACHINE_CLIENT_ID }] },
        require: { clients: [DEMO_MACHINE_CLIENT_ID] },
      },
      // ...and only tokens bound to the presented certificate (RFC 8705) pass: `demo token --bound-to-cert`.
      { name: "bound", match: { path: "/bound" }, auth: "required", require: { boundTokens: "mtls" } },
      { name: "default", match: { path: "/" }, auth: "required" },
    ],
    // One replica behind its own Envoy: nothing to drain traffic to, so Ctrl-C stops at once.
    shutdown: { graceSeconds: 1, drainSeconds: 0 },
    log: { level: "info" },
  };
}
