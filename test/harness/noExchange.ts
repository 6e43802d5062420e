// A route's token exchange as the parser fills it in for a route without `exchange` (off, every
// default): tests that compare whole parsed routes spread it, so a new exchange key is added here once.
import type { RouteConfig } from "../../src/config/PortcullisConfig.ts";

export const NO_EXCHANGE: NonNullable<RouteConfig["exchange"]> = Object.freeze({
  enabled: false,
  provider: null,
  audience: [],
  resource: [],
  scopes: [],
  clientId: null,
  clientSecret: null,
  authMethod: "client_secret_basic",
  header: "authorization",
  scheme: "Bearer",
  removeAuthorization: true,
  timeoutMs: 800,
  expiryMarginSeconds: 30,
  cacheMaxEntries: 10000,
});
