// Verified claims → the identity headers set on the upstream request (x-user-sub, x-user-email,
// x-user-roles, configured claim headers, x-user-context). Everything config-derived is computed once
// in createIdentityHeaders (a plan the per-request functions read); build() is pure and its result is cached by the caller per credential.
// Roles and groups are read from the claim paths of the token's provider (its own or its preset's),
// else from identity.roleClaims / identity.groupClaims.

import type { IdentityConfig, ProviderConfig } from "../config/PortcullisConfig.ts";
import { claimPathSegments, resolveClaim } from "./resolveClaim.ts";
import { isVerbatimHeaderValue, sanitizeHeaderValue } from "./sanitizeHeaderValue.ts";

export type IdentityHeader = [name: string, value: string];

export interface IdentityHeaders {
  /**
   * Every header name Portcullis owns, lower-case, the context header included even when the
   * context is disabled. The adapter removes all of them from every request, public routes too.
   */
  readonly ownedHeaders: readonly string[];
  /**
   * The headers to set for these verified claims; empty values are left out. A machine caller
   * (client credentials) gets only the client id and claim headers: no x-user-* header is invented
   * for it from its client id.
   */
  build(claims: Readonly<Record<string, unknown>>, principal?: "user" | "client", provider?: string): IdentityHeader[];
  /** The caller's roles as the roles header carries them (the provider's role claims, merged). */
  roles(claims: Readonly<Record<string, unknown>>, provider?: string): string[];
  /** The caller's groups (the provider's group claims, merged), for `require.groups`. */
  groups(claims: Readonly<Record<string, unknown>>, provider?: string): string[];
}

/** Where one provider's tokens keep roles and groups; null/absent = the identity config's. */
export type ProviderClaimPaths = Pick<ProviderConfig, "name" | "roleClaims" | "groupClaims">;

type Claims = Readonly<Record<string, unknown>>;

/** How one x-user-context field is filled; sources are resolved once from config. */
type ContextSource =
  { kind: "sub" | "email" | "scopes" | "roles" | "exp" | "client_id" } | { kind: "claim"; path: readonly string[] };

const NAMED_SOURCES = new Set(["sub", "email", "scopes", "roles", "exp", "client_id"]);

function parseContextSource(field: string, source: string): ContextSource {
  if (NAMED_SOURCES.has(source)) return { kind: source as "sub" };
  if (source.startsWith("claim:") && source.length > "claim:".length) {
    return { kind: "claim", path: claimPathSegments(source.slice("claim:".length)) };
  }
  throw new Error(`identity.context.fields.${field}: unknown source "${source}"`);
}

function nonEmptyString(value: unknown): string | null {
  return typeof value === "string" && value.length > 0 ? value : null;
}

/**
 * The subject comes from `sub` alone. Falling back to `client_id`/`azp` would let a client named like
 * a user's subject pass upstream as that user; machine identities use the `client_id` context source.
 */
function subjectOf(claims: Claims): string | null {
  return nonEmptyString(claims["sub"]);
}

function clientIdOf(claims: Claims): string | null {
  return nonEmptyString(claims["client_id"]) ?? nonEmptyString(claims["azp"]);
}

function emailOf(claims: Claims): string | null {
  return nonEmptyString(claims["email"]);
}

function expOf(claims: Claims): number | null {
  const exp = claims["exp"];
  return typeof exp === "number" && Number.isFinite(exp) ? exp : null;
}

/** `scope` (space-separated string, RFC 8693/9068) or else `scp` (array or string, Azure/Okta). */
function scopesOf(claims: Claims): string[] {
  const raw = typeof claims["scope"] === "string" ? claims["scope"] : claims["scp"];
  const list = typeof raw === "string" ? raw.split(" ") : Array.isArray(raw) ? raw : [];
  const scopes = new Set<string>();
  for (const s of list) if (typeof s === "string" && s.length > 0) scopes.add(s);
  return [...scopes];
}

/** The header form of a free-form claim value: text, comma-joined string lists, JSON otherwise. */
function claimToText(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value.join(",");
  return JSON.stringify(value) ?? null;
}

/**
 * Keeps leading entries of `list` while their total cost (each `costOf` plus one separator byte
 * between entries) stays within `budget`. Dropping whole entries from the end never
 * turns a name into a different, shorter name the way cutting mid-entry would.
 */
function keepWithin<T>(list: readonly T[], budget: number, costOf: (entry: T) => number): T[] {
  const kept: T[] = [];
  let used = 0;
  for (const entry of list) {
    const cost = costOf(entry) + (kept.length > 0 ? 1 : 0);
    if (used + cost > budget) break;
    kept.push(entry);
    used += cost;
  }
  return kept;
}

const utf8Bytes = (s: string): number => Buffer.byteLength(s, "utf8");
const jsonBytes = (v: unknown): number => utf8Bytes(JSON.stringify(v));

/** Everything build() reads, computed once from config; the per-request functions below take it. */
interface HeaderPlan {
  readonly maxBytes: number;
  readonly names: {
    readonly sub: string;
    readonly email: string;
    readonly roles: string;
    readonly context: string;
    readonly clientId: string;
  };
  readonly claimHeaders: readonly (readonly [name: string, path: readonly string[]])[];
  readonly contextEnabled: boolean;
  readonly contextFields: readonly (readonly [field: string, source: ContextSource])[];
  readonly defaultRolePaths: readonly (readonly string[])[];
  readonly defaultGroupPaths: readonly (readonly string[])[];
  readonly rolePathsOf: ReadonlyMap<string, readonly (readonly string[])[]>;
  readonly groupPathsOf: ReadonlyMap<string, readonly (readonly string[])[]>;
}

export function createIdentityHeaders(
  config: IdentityConfig,
  providers: readonly ProviderClaimPaths[] = [],
): IdentityHeaders {
  const plan = planHeaders(config, providers);
  const { names } = plan;
  const owned = [
    names.sub,
    names.email,
    names.roles,
    names.context,
    names.clientId,
    ...plan.claimHeaders.map(([n]) => n),
    // The signed assertion's header is owned whether or not a route adds it: a client-sent value
    // is removed on every route, so no upstream ever reads a forged one.
    ...(config.assertion === undefined ? [] : [config.assertion.header.toLowerCase()]),
  ];
  // The config parser checks this too; two meanings for one header would make build() ambiguous.
  if (new Set(owned).size !== owned.length) {
    throw new Error("identity: header names must be distinct");
  }
  return {
    ownedHeaders: Object.freeze(owned),
    build: (claims, principal = "user", provider) => buildHeaders(plan, claims, principal, provider),
    roles: (claims, provider) => rolesOf(plan, claims, provider),
    groups: (claims, provider) => groupsOf(plan, claims, provider),
  };
}

function planHeaders(config: IdentityConfig, providers: readonly ProviderClaimPaths[]): HeaderPlan {
  const rolePathsOf = new Map<string, (readonly string[])[]>();
  const groupPathsOf = new Map<string, (readonly string[])[]>();
  for (const p of providers) {
    if (p.roleClaims != null) rolePathsOf.set(p.name, p.roleClaims.map(claimPathSegments));
    if (p.groupClaims != null) groupPathsOf.set(p.name, p.groupClaims.map(claimPathSegments));
  }
  return {
    maxBytes: config.maxHeaderBytes,
    names: {
      sub: config.headers.sub.toLowerCase(),
      email: config.headers.email.toLowerCase(),
      roles: config.headers.roles.toLowerCase(),
      context: config.headers.context.toLowerCase(),
      clientId: config.headers.clientId.toLowerCase(),
    },
    claimHeaders: Object.entries(config.claimHeaders).map(
      ([name, path]) => [name.toLowerCase(), claimPathSegments(path)] as const,
    ),
    contextEnabled: config.context.enabled,
    contextFields: config.context.enabled
      ? Object.entries(config.context.fields).map(
          ([field, source]) => [field, parseContextSource(field, source)] as const,
        )
      : [],
    defaultRolePaths: config.roleClaims.map(claimPathSegments),
    defaultGroupPaths: (config.groupClaims ?? ["groups"]).map(claimPathSegments),
    rolePathsOf,
    groupPathsOf,
  };
}

function buildHeaders(
  plan: HeaderPlan,
  claims: Claims,
  principal: "user" | "client",
  provider: string | undefined,
): IdentityHeader[] {
  const { names, maxBytes } = plan;
  const headers: IdentityHeader[] = [];
  const clientId = clientIdOf(claims);
  if (clientId !== null && isVerbatimHeaderValue(clientId, maxBytes)) headers.push([names.clientId, clientId]);
  if (principal === "client") {
    pushClaimHeaders(plan, claims, headers);
    return headers;
  }
  const subject = subjectOf(claims);
  if (subject !== null && isVerbatimHeaderValue(subject, maxBytes)) headers.push([names.sub, subject]);
  const email = emailOf(claims);
  if (email !== null && isVerbatimHeaderValue(email, maxBytes)) headers.push([names.email, email]);

  const roles = rolesOf(plan, claims, provider);
  const rolesInHeader = keepWithin(roles, maxBytes, utf8Bytes);
  if (rolesInHeader.length > 0) headers.push([names.roles, rolesInHeader.join(",")]);

  pushClaimHeaders(plan, claims, headers);

  if (plan.contextEnabled) {
    const context = contextValue(plan, claims, subject, roles);
    if (context !== null) headers.push([names.context, context]);
  }
  return headers;
}

function pushClaimHeaders(plan: HeaderPlan, claims: Claims, headers: IdentityHeader[]): void {
  for (const [name, path] of plan.claimHeaders) {
    const text = claimToText(resolveClaim(claims, path));
    if (text === null) continue;
    const value = sanitizeHeaderValue(text, plan.maxBytes);
    if (value.length > 0) headers.push([name, value]);
  }
}

/**
 * The union of every role claim, first occurrence first. A role must be sendable verbatim in a
 * comma-separated header: names containing a comma, control characters or surrounding whitespace
 * are dropped (the context uses the same list so both views agree).
 */
function rolesOf(plan: HeaderPlan, claims: Claims, provider: string | undefined): string[] {
  const paths = (provider === undefined ? undefined : plan.rolePathsOf.get(provider)) ?? plan.defaultRolePaths;
  const roles = new Set<string>();
  for (const path of paths) {
    for (const role of namesAt(claims, path)) {
      if (typeof role === "string" && !role.includes(",") && isVerbatimHeaderValue(role, plan.maxBytes)) {
        roles.add(role);
      }
    }
  }
  return [...roles];
}

/** Every string in the provider's group claims, first occurrence first. */
function groupsOf(plan: HeaderPlan, claims: Claims, provider: string | undefined): string[] {
  const paths = (provider === undefined ? undefined : plan.groupPathsOf.get(provider)) ?? plan.defaultGroupPaths;
  const groups = new Set<string>();
  for (const path of paths) {
    for (const group of namesAt(claims, path)) if (typeof group === "string" && group.length > 0) groups.add(group);
  }
  return [...groups];
}

/** A claim holding one name or a list of them, as a list (empty when absent or of another type). */
function namesAt(claims: Claims, path: readonly string[]): readonly unknown[] {
  const value = resolveClaim(claims, path);
  return typeof value === "string" ? [value] : Array.isArray(value) ? value : [];
}

/** The x-user-context value, or null when it cannot fit even with every role and scope dropped. */
function contextValue(plan: HeaderPlan, claims: Claims, subject: string | null, roles: string[]): string | null {
  const body: Record<string, unknown> = {};
  // Lists we may shorten to fit, with the field each one fills.
  const shrinkable: Array<{ field: string; list: string[] }> = [];
  for (const [field, source] of plan.contextFields) {
    switch (source.kind) {
      case "sub":
        body[field] = subject;
        break;
      case "email":
        body[field] = emailOf(claims);
        break;
      case "client_id":
        body[field] = clientIdOf(claims);
        break;
      case "exp":
        body[field] = expOf(claims);
        break;
      case "scopes":
      case "roles": {
        const list = source.kind === "roles" ? [...roles] : scopesOf(claims);
        body[field] = list;
        shrinkable.push({ field, list });
        break;
      }
      case "claim":
        body[field] = resolveClaim(claims, source.path) ?? null;
        break;
    }
  }
  // Standard base64 turns every 3 bytes into 4 characters; fit the JSON into that budget.
  const jsonBudget = Math.floor(plan.maxBytes / 4) * 3;
  // Serialized once when it fits (the usual case: this runs once per new credential), again only
  // after shrinking.
  let json = Buffer.from(JSON.stringify(body), "utf8");
  if (json.length > jsonBudget) {
    if (!shrinkToFit(body, shrinkable, json.length - jsonBudget)) return null;
    json = Buffer.from(JSON.stringify(body), "utf8");
    if (json.length > jsonBudget) return null;
  }
  return json.toString("base64");
}

/**
 * Drops entries from the end of the longest list, one at a time, until `over` bytes are gone; false
 * when every list is empty and it is still over. Sizes are tracked arithmetically so a token with
 * thousands of roles stays linear-ish.
 */
function shrinkToFit(
  body: Record<string, unknown>,
  shrinkable: Array<{ field: string; list: string[] }>,
  over: number,
): boolean {
  if (over <= 0) return true;
  while (over > 0) {
    let longest: { field: string; list: string[] } | undefined;
    for (const s of shrinkable) {
      if (s.list.length > 0 && (!longest || s.list.length > longest.list.length)) longest = s;
    }
    if (!longest) return false;
    const removed = longest.list.pop() as string;
    over -= jsonBytes(removed) + (longest.list.length > 0 ? 1 : 0);
  }
  for (const s of shrinkable) body[s.field] = s.list;
  return true;
}
