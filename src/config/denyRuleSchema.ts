// `routes[].deny` (a rule that says no, with its own code and status, for every request it matches or
// for callers that meet its `when`) and `policy.defaults` (requirements every non-public rule adds to
// its own). routeSchema.ts places them; cross-field rules are in checkDenyRules.ts.

import type { CustomReport, CustomResult, ObjectNode } from "./configSchema.ts";
import { nonBlank } from "./configFormats.ts";
import { claimCheckNode } from "./parseClaimCheck.ts";
import { requireRequestNode } from "./requestConditionSchema.ts";

/** The statuses a deny rule may answer with: 403 (default), 404 (hide the route), 401 (sign in again). */
export const DENY_STATUSES = [401, 403, 404] as const;
export type DenyStatus = (typeof DENY_STATUSES)[number];

function parseDenyStatus(value: unknown, path: string, report: CustomReport): CustomResult<DenyStatus> {
  if ((DENY_STATUSES as readonly unknown[]).includes(value)) return { ok: true, value: value as DenyStatus };
  report(path, "must be 403 (forbidden), 404 (hide that the route exists) or 401 (the caller must sign in again)", {
    value,
  });
  return { ok: false };
}

const anyOfNames = (what: string, description: string) => ({
  kind: "list" as const,
  items: { kind: "string" as const, format: nonBlank, description: `A ${what}.` },
  unique: true,
  default: [],
  description,
});

const denyWhenNode = {
  kind: "object",
  typeOptional: true,
  description:
    "Which callers the rule denies; every part given must hold (combine alternatives with a `claims` `any`, or write another deny rule). Missing or empty: every request the route matches is denied, before any credential is read. Given: the caller is identified first (as the route's `auth` says) and a caller without a credential is never denied by it.",
  fields: {
    scopes: anyOfNames("scope", "The token grants any of these scopes (`scope` string or `scp`), e.g. a blocked one."),
    clients: anyOfNames("client id", "The token's `client_id` (else `azp`) is one of these, e.g. a blocked client."),
    groups: anyOfNames(
      "group",
      "The caller is in any of these groups (read as for `require.groups`), e.g. `suspended`.",
    ),
    roles: anyOfNames("role", "The caller has any of these roles (read as for `require.roles`)."),
    claims: claimCheckNode("The claim check tree (as in `require.claims`) passes."),
    request: {
      ...requireRequestNode,
      description:
        "The request meets these conditions (`headers`, `query`, `sourceAddresses`, `sni`, `time`, shaped as in `match`), e.g. a group of callers refused outside office hours or from outside a network: `{groups: [contractors], request: {time: {days: [sat, sun], timeZone: Europe/Berlin}}}`. Judged with the other parts, on an identified caller. What a condition cannot read counts as met, so the rule fires (where `match` would fail): a query parameter given twice or an undecodable query, no source address, an `X-Forwarded-For` that `policy.trustedForwardedHops` cannot trust.",
    },
  },
} as const satisfies ObjectNode;

export const denyRuleNode = {
  kind: "object",
  description:
    "One deny rule: when it applies, the route answers with its `code` and `status` and nothing else of the route is read.",
  fields: {
    code: {
      kind: "string",
      pattern: /^[a-z](?:[a-z0-9]|_(?=[a-z0-9])){0,63}$/,
      default: "policy_denied",
      description:
        "The stable code the client reads in the JSON body's `error` (the `reason` of `portcullis_checks_total` and of the log line stays `policy_denied`, the log line names the rule): lower_snake, at most 64 characters, and not one of Portcullis's own codes (docs/errors.md) other than `policy_denied`, so a client never reads `token_expired` and refreshes for nothing.",
    },
    status: {
      kind: "custom",
      typeLabel: "401, 403 or 404",
      default: 403,
      parse: parseDenyStatus,
      jsonSchema: { enum: [...DENY_STATUSES] },
      description:
        '`403` (default): forbidden, with `WWW-Authenticate: Bearer error="insufficient_scope"` as for any requirement. `404`: as if the route did not exist, with no challenge. `401`: the credential is refused (`error="invalid_token"`), so a client gets a new one; a browser gets the same answer, never a login loop.',
    },
    when: denyWhenNode,
  },
} as const satisfies ObjectNode;

/** `routes[].deny`. */
export const routeDenyNode = {
  kind: "list",
  typeOptional: true,
  items: denyRuleNode,
  default: [],
  description:
    "Deny rules, checked in order before `require` (a denied caller is never asked to step up): `[{code: blocked_client, when: {clients: [legacy-cli]}}]`. A rule whose deny has no `when` denies every request it matches (e.g. `{code: gone, status: 404}`). In `mode: shadow` a deny rule only counts its would-be denials (code `policy_denied`).",
} as const;
