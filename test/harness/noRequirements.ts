// A route's requirements with nothing required (what the parser fills in for a route without
// `require`): tests spread it and set the one part they are about. One copy, so a new
// requirements field is added in one place.
import type { RequirementsConfig } from "../../src/config/PortcullisConfig.ts";

/** `policy.defaults.require` with nothing required (what the parser fills in): the caller parts of a route's `require`. */
export const NO_DEFAULT_REQUIREMENTS: Omit<RequirementsConfig, "boundTokens"> = Object.freeze({
  scopes: [],
  roles: null,
  groups: null,
  audiences: [],
  clients: [],
  principal: "any",
  claims: null,
  acr: [],
  amr: [],
  maxAge: null,
  request: Object.freeze({ headers: [], query: [], sourceAddresses: [], sni: [], time: null }),
});

export const NO_REQUIREMENTS: RequirementsConfig = Object.freeze({ ...NO_DEFAULT_REQUIREMENTS, boundTokens: null });
