// The dev IdP's registered clients: two machine clients (client credentials) and the browser
// client Portcullis uses in the demo (authorization code + PKCE, refresh, back-channel logout).

import type { MachineClient } from "./DevIdp.ts";

export const DEMO_API_SCOPES = ["api.read", "api.write"] as const;
/** Machine client (client credentials) with every API scope; `demo token` uses it by default. */
export const DEMO_CLIENT_ID = "demo-cli";
/** A second machine client (client credentials) that may only read. */
export const DEMO_BATCH_CLIENT_ID = "demo-batch";
export const DEMO_BATCH_SCOPES = ["api.read"] as const;
/** The browser client (authorization code + PKCE), Portcullis's client in the demo. */
export const DEMO_WEB_CLIENT_ID = "demo-web";
export const DEMO_AUDIENCE = "portcullis-demo-api";
/** A service's client that may exchange tokens (RFC 8693), for the audiences in DEMO_EXCHANGE_TARGETS. */
export const DEMO_EXCHANGE_CLIENT_ID = "demo-exchange";
/** The audiences each exchanging client may ask the dev IdP for. */
export const DEMO_EXCHANGE_TARGETS: Readonly<Record<string, readonly string[]>> = {
  [DEMO_EXCHANGE_CLIENT_ID]: ["demo-orders"],
};
/** Clients allowed to introspect (RFC 7662): the ones a resource server would use. */
export const INTROSPECTING_CLIENTS: ReadonlySet<string> = new Set([DEMO_CLIENT_ID, DEMO_WEB_CLIENT_ID]);
/** The API scopes each machine client may ask for (and gets when it names none). */
export const MACHINE_CLIENT_SCOPES: Readonly<Record<string, readonly string[]>> = {
  [DEMO_CLIENT_ID]: DEMO_API_SCOPES,
  [DEMO_BATCH_CLIENT_ID]: DEMO_BATCH_SCOPES,
};

export interface DemoClientSettings {
  readonly cliClient: MachineClient;
  readonly batchClient: MachineClient;
  readonly webClient: MachineClient;
  readonly exchangeClient: MachineClient;
  readonly webRedirectUris: readonly string[];
  readonly webPostLogoutRedirectUris: readonly string[];
  readonly webBackchannelLogoutUri: string | undefined;
}

/** oidc-provider client metadata for the demo clients. */
export function demoClients(settings: DemoClientSettings): Record<string, unknown>[] {
  return [
    {
      client_id: settings.cliClient.id,
      client_secret: settings.cliClient.secret,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      scope: ["openid", "profile", "email", ...DEMO_API_SCOPES].join(" "),
    },
    {
      client_id: settings.batchClient.id,
      client_secret: settings.batchClient.secret,
      grant_types: ["client_credentials"],
      response_types: [],
      redirect_uris: [],
      scope: DEMO_BATCH_SCOPES.join(" "),
    },
    {
      client_id: settings.webClient.id,
      client_secret: settings.webClient.secret,
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      redirect_uris: [...settings.webRedirectUris],
      post_logout_redirect_uris: [...settings.webPostLogoutRedirectUris],
      ...(settings.webBackchannelLogoutUri === undefined
        ? {}
        : { backchannel_logout_uri: settings.webBackchannelLogoutUri, backchannel_logout_session_required: true }),
      scope: ["openid", "profile", "email", "offline_access", ...DEMO_API_SCOPES].join(" "),
    },
    {
      client_id: settings.exchangeClient.id,
      client_secret: settings.exchangeClient.secret,
      grant_types: ["urn:ietf:params:oauth:grant-type:token-exchange"],
      response_types: [],
      redirect_uris: [],
    },
  ];
}
