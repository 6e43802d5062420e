// One line per thing a route asks of a caller beyond matching it, for the route table
// (`check-config --explain-routes`): request conditions of the match, deny rules, scopes, roles,
// groups, claims (the tree summarised), step-up, conditions on the request, bound tokens, certificate
// clients, token exchange, assertion, forwarded headers. Names only.

import type { DefaultRequirementsConfig, RouteConfig } from "../config/PortcullisConfig.ts";
import type { ClaimCheckConfig, ClaimOperator } from "../config/parseClaimCheck.ts";
import { leafOperator } from "../core/compileClaimCheck.ts";
import type { NameSetRequirement } from "../config/parseNameSet.ts";
import { describeRequestConditions } from "./describeRequestConditions.ts";

/** One requirement or route feature: `what` is the config key it comes from, `text` what it asks. */
export interface RouteRequirementText {
  readonly what: string;
  readonly text: string;
}

const list = (names: readonly unknown[]): string => names.map((n) => JSON.stringify(n)).join(", ");

function nameSet(set: NameSetRequirement | null): string | null {
  if (set === null) return null;
  const parts: string[] = [];
  if (set.anyOf.length > 0) parts.push(`any of ${list(set.anyOf)}`);
  if (set.allOf.length > 0) parts.push(`all of ${list(set.allOf)}`);
  return parts.length === 0 ? null : parts.join(" and ");
}

/** The claim check tree as one expression: `org = "acme" and (tier in [1, 2] or admin exists)`. */
export function describeClaimCheck(check: ClaimCheckConfig, nested = false): string {
  if ("all" in check || "any" in check) {
    const [items, joiner] = "all" in check ? [check.all, " and "] : [check.any, " or "];
    const text = items.map((item) => describeClaimCheck(item, true)).join(joiner);
    return nested && items.length > 1 ? `(${text})` : text;
  }
  if ("not" in check) return `not ${describeClaimCheck(check.not, true)}`;
  const [op, operand] = leafOperator(check);
  if (op === "exists") return operand === true ? `${check.claim} exists` : `${check.claim} absent`;
  const text = Array.isArray(operand) ? `[${list(operand)}]` : JSON.stringify(operand);
  return `${check.claim} ${CLAIM_OPERATOR_TEXT[op]} ${text}`;
}

/** How each operator reads in the route table. */
const CLAIM_OPERATOR_TEXT: Readonly<Record<Exclude<ClaimOperator, "exists">, string>> = {
  equals: "=",
  notEquals: "!=",
  contains: "contains",
  oneOf: "in",
  notOneOf: "not in",
  matches: "matches",
  endsWith: "ends with",
  greaterThan: ">",
  atLeast: ">=",
  lessThan: "<",
  atMost: "<=",
  hasAll: "has all of",
  hasAny: "has any of",
  hasNone: "has none of",
};

/** The caller requirements (`require`, or `policy.defaults.require`), in the order the gate evaluates them. */
export function requirementTexts(r: DefaultRequirementsConfig | RouteConfig["require"]): RouteRequirementText[] {
  const out: RouteRequirementText[] = [];
  const add = (what: string, text: string | null): void => {
    if (text !== null) out.push({ what, text });
  };
  if (r === undefined || r === null) return out;
  add("scopes", r.scopes.length > 0 ? `all of ${list(r.scopes)}` : null);
  add("roles", nameSet(r.roles));
  add("groups", nameSet(r.groups));
  add("audiences", r.audiences.length > 0 ? `one of ${list(r.audiences)}` : null);
  add("clients", r.clients.length > 0 ? `one of ${list(r.clients)}` : null);
  add("principal", r.principal === "any" ? null : r.principal);
  add("claims", r.claims === null ? null : describeClaimCheck(r.claims));
  add("acr", r.acr.length > 0 ? `one of ${list(r.acr)}` : null);
  add("amr", r.amr.length > 0 ? `all of ${list(r.amr)}` : null);
  add("maxAge", r.maxAge === null ? null : `authenticated within ${r.maxAge}s`);
  add("request", describeRequestConditions(r.request));
  if ("boundTokens" in r) add("boundTokens", r.boundTokens ?? null);
  return out;
}

/** Each deny rule: its code and status, and the callers it names (every request when none). */
function denyTexts(route: RouteConfig): RouteRequirementText[] {
  return (route.deny ?? []).map((rule, i) => {
    const w = rule.when;
    const parts: string[] = [];
    if (w !== undefined) {
      if (w.scopes.length > 0) parts.push(`scope any of ${list(w.scopes)}`);
      if (w.clients.length > 0) parts.push(`client one of ${list(w.clients)}`);
      if (w.groups.length > 0) parts.push(`group any of ${list(w.groups)}`);
      if (w.roles.length > 0) parts.push(`role any of ${list(w.roles)}`);
      if (w.claims !== null) parts.push(describeClaimCheck(w.claims));
      const request = describeRequestConditions(w.request);
      if (request !== null) parts.push(`request ${request}`);
    }
    const who = parts.length === 0 ? "every request" : `when ${parts.join(" and ")}`;
    return { what: `deny[${i}]`, text: `${rule.code} (${rule.status}) ${who}` };
  });
}

/** What the route does besides deciding: certificate clients, exchange, assertion, headers let through. */
function featureTexts(route: RouteConfig): RouteRequirementText[] {
  const out: RouteRequirementText[] = [];
  const mtls = route.mtls;
  if (mtls !== undefined && mtls !== null) {
    if (mtls.clients.length > 0)
      out.push({ what: "mtls.clients", text: `${mtls.clients.length} certificate client(s) admitted without a token` });
    if (mtls.trustForwardedClientCert)
      out.push({
        what: "mtls.trustForwardedClientCert",
        text: `x-forwarded-client-cert (${mtls.forwardedClientCertElements})`,
      });
  }
  const exchange = route.exchange;
  if (exchange !== undefined && exchange !== null && exchange.enabled) {
    const target = [...exchange.audience, ...exchange.resource];
    out.push({
      what: "exchange",
      text: `token exchanged for ${target.length > 0 ? list(target) : "the provider's default"}`,
    });
  }
  const assertion = route.assertion;
  if (assertion !== undefined && assertion !== null && assertion.enabled !== null)
    out.push({ what: "assertion", text: assertion.enabled ? "signed identity assertion" : "no identity assertion" });
  const forwarded = route.forwardRequestHeaders ?? [];
  if (forwarded.length > 0) out.push({ what: "forwardRequestHeaders", text: forwarded.join(", ") });
  return out;
}

/** Everything a route asks or does beyond matching; empty for the catch-all rule of a mode. */
export function describeRouteRequirements(route: RouteConfig | undefined): readonly RouteRequirementText[] {
  if (route === undefined) return [];
  const optOut: RouteRequirementText[] =
    route.defaults === false ? [{ what: "defaults", text: "policy.defaults not asked" }] : [];
  const match = describeRequestConditions(route.match);
  const conditions: RouteRequirementText[] = match === null ? [] : [{ what: "match", text: match }];
  return [...conditions, ...denyTexts(route), ...requirementTexts(route.require), ...optOut, ...featureTexts(route)];
}
