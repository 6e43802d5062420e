// The identity header names Portcullis uses by default (identity.headers when the config names
// none): the identity and gate tests build their configs with them. One copy, so a new header is
// added in one place.
import type { IdentityConfig } from "../../src/config/PortcullisConfig.ts";

export const DEFAULT_IDENTITY_HEADER_NAMES: IdentityConfig["headers"] = Object.freeze({
  sub: "x-user-sub",
  email: "x-user-email",
  roles: "x-user-roles",
  context: "x-user-context",
  clientId: "x-client-id",
});
