// The parsed, fully-defaulted, frozen configuration. `parseConfig` is the only producer; every
// other room reads this shape and never the YAML. Every type here is derived from configSchema.ts
// (SchemaOutput.ts), so a key cannot exist in the schema and not in the type, or the other way;
// the names are the ones the rest of the code imports.

import type { configSchema } from "./configSchema.ts";
import type { SchemaOutput } from "./SchemaOutput.ts";

export type { ListenAddress } from "./configFormats.ts";
export type { ClaimCheckConfig, ClaimValue } from "./parseClaimCheck.ts";
export type { NameSetRequirement } from "./parseNameSet.ts";

type ParsedSchema = SchemaOutput<typeof configSchema>;

/** Session settings; `cookieName` is never null once parsed (parseConfig fills in the default that depends on `cookieDomain`). */
export type SessionConfig = Omit<ParsedSchema["session"], "cookieName"> & { readonly cookieName: string };

export type PortcullisConfig = Omit<ParsedSchema, "session"> & { readonly session: SessionConfig };

/** One OpenID Connect provider; `name` is its key under `providers` (a bounded metric label). */
export type ProviderConfig = PortcullisConfig["providers"][string];
export type IntrospectionConfig = ProviderConfig["introspection"];
/** How sign-out ends the IdP session; absent in a config built in code = `end_session`. */
export type ProviderLogoutConfig = NonNullable<ProviderConfig["logout"]>;
export type LogoutMethod = ProviderLogoutConfig["method"];

/** Where sessions live: `cookie` seals the whole session into cookies; `redis` keeps it in Redis, encrypted with a key only the browser's cookie holds. */
export type SessionStoreKind = SessionConfig["store"];
export type RedisConfig = PortcullisConfig["redis"];

export type PolicyConfig = PortcullisConfig["policy"];
/** `rules`, `whitelist` or `blacklist`; see compileRoutes.ts. */
export type PolicyMode = PolicyConfig["mode"];

export type RouteConfig = PortcullisConfig["routes"][number];
/** At most one of the four path forms is set; none = every path. */
export type RouteMatchConfig = RouteConfig["match"];
/** `required`: a valid credential is needed; `optional`: identify a caller who brings one, never challenge; `public`: everyone passes. */
export type RouteAuth = NonNullable<RouteConfig["auth"]>;
/** What a caller must have on a route; every part that is set must pass. Empty lists / null = not required. */
export type RequirementsConfig = NonNullable<RouteConfig["require"]>;

/** One `routes[].deny` rule. */
export type DenyRuleConfig = NonNullable<RouteConfig["deny"]>[number];

/** `policy.defaults.require`: the caller requirements every non-public rule adds. */
export type DefaultRequirementsConfig = NonNullable<NonNullable<PolicyConfig["defaults"]>["require"]>;

export type IdentityConfig = PortcullisConfig["identity"];
/** OpenTelemetry tracing: spans exported over OTLP/HTTP; off by default. */
export type TracingConfig = PortcullisConfig["tracing"];
