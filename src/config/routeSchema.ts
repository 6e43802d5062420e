// The `policy` and `routes[]` parts of the config schema: route matching, auth, providers and
// requirements. configSchema.ts places them; cross-field rules (one path form, auth required in
// rules mode) are in checkRouteRules.ts, reachability in core/checkRouteMatching.ts.

import { routeAssertionNode } from "./assertionSchema.ts";
import { routeBoundTokensNode, routeMtlsNode } from "./bindingSchema.ts";
import type { CustomNode, CustomReport, CustomResult, ObjectNode } from "./configSchema.ts";
import { hostPattern, nonBlank, removableHeaderName, routePath } from "./configFormats.ts";
import { claimCheckNode } from "./parseClaimCheck.ts";
import { nameSetJsonSchema, parseNameSet, type NameSetRequirement } from "./parseNameSet.ts";
import { DEFAULT_REMOVED_REQUEST_HEADERS } from "./removedRequestHeaders.ts";
import { httpMethod, routeExactPath, routeGlob, routeRegex } from "./routeFormats.ts";
import { PATH_SHAPE_NAMES } from "./pathShapeNames.ts";
import { exchangeNode } from "./exchangeSchema.ts";
import { tokenSourceNode } from "./tokenSourceSchema.ts";
import { forwardTokenNode } from "./forwardTokenSchema.ts";
import { routeDenialNode, routeResponseHeadersNode } from "./routeAnswerSchema.ts";
import { routeDenyNode } from "./denyRuleSchema.ts";
import {
  matchHeadersNode,
  matchQueryNode,
  matchSniNode,
  matchSourceAddressesNode,
  matchTimeNode,
  requireRequestNode,
} from "./requestConditionSchema.ts";

const basePolicyNode = {
  kind: "object",
  description:
    "How the route list is read. `rules`: the routes are the whole policy and an unmatched request is denied. `whitelist`: every request needs auth except those the routes list (a route's `auth` defaults to `public`). `blacklist`: every request is public except those the routes list (a route's `auth` defaults to `required`). Both modes are a shorthand for the same rules with a last catch-all route named `default`.",
  fields: {
    mode: {
      kind: "string",
      enum: ["rules", "whitelist", "blacklist"],
      default: "rules",
      description:
        "`rules`, `whitelist` (append `default`: every host and path, `auth: required`) or `blacklist` (append `default`: `auth: public`).",
    },
    allowPathShapes: {
      kind: "list",
      typeOptional: true,
      items: { kind: "string", enum: PATH_SHAPE_NAMES, description: "A path shape to let through." },
      unique: true,
      default: [],
      description:
        "Path shapes that common upstreams read differently from Portcullis and Envoy, refused by default with 400 `path_invalid` before any rule sees them; list one here only for an API that needs it (`check-config` warns what each exposes). `pathParameters`: `;` or `%3B` (Tomcat, Jetty and Spring serve `/admin;x/y` as `/admin/y`). `encodedPercent`: `%25` (a double-decoding upstream serves `/%2561dmin` as `/admin`). `trailingDot`: a segment ending in `.` (IIS and Spring serve `/admin./y` as `/admin/y`). `trailingWhitespace`: a segment ending in `%20`. `invalidUtf8`: escapes that are not well-formed UTF-8 (overlong `%C0%AE` is a dot to some servers). Always refused, whatever this says: `%2F`, `%5C`, a backslash, control characters, spaces, malformed escapes.",
    },
    trustedForwardedHops: {
      kind: "integer",
      typeOptional: true,
      min: 0,
      max: 10,
      default: 0,
      description:
        "How many proxies in front of Envoy (load balancers you operate) append the address they saw to `X-Forwarded-For`; `sourceAddresses` conditions then test the address that many entries left of the last one (the peer Envoy appends itself, so Envoy must run with `use_remote_address: true`, as the shipped configs do). 0 (default): `X-Forwarded-For` is never read and conditions test Envoy's `source.address`. Envoy's own `xff_num_trusted_hops` does not change the `source.address` ext_authz reports (docs/policy.md). With 1 or more, Envoy must send the header (`check-config --envoy` adds it to `allowed_headers`); a header that is missing, has fewer entries, an entry that is not an IP address, or whose last entry is not the peer's address fails the condition. Set it to exactly the number of proxies you run: one too many trusts an address the client wrote. Example: `1` behind one load balancer you operate.",
    },
    removeRequestHeaders: {
      kind: "list",
      typeOptional: true,
      items: { kind: "string", format: removableHeaderName, description: "A request header name, lower-case." },
      unique: true,
      default: [...DEFAULT_REMOVED_REQUEST_HEADERS],
      description:
        "Request headers removed from every request Portcullis lets through (in its ext_authz answer), because they change what an upstream serves: the host or prefix it builds links and redirects from, the URL or method it routes by. A route lets one through with `forwardRequestHeaders`. The default list also keeps a sidecar behind an Envoy that does not strip them safe. Portcullis names in its answer those the request carries, so an Envoy that narrows what it sends to ext_authz (`allowed_headers`) must send these too. Not `host`, `authorization`, `cookie` or identity headers (those have their own rules).",
    },
  },
} as const satisfies ObjectNode;

const nameList = (what: string) => ({
  kind: "list" as const,
  items: { kind: "string" as const, format: nonBlank, description: `A ${what}.` },
  unique: true,
  default: [],
});

const nameSet = (what: string, source: string) =>
  ({
    kind: "custom",
    typeLabel: "list of names, or `{anyOf: [...], allOf: [...]}`",
    default: null,
    parse: parseNameSet,
    jsonSchema: nameSetJsonSchema,
    description: `${what} (${source}): a list means any of them; \`anyOf\` / \`allOf\` lists may be combined (both must pass).`,
  }) as const satisfies CustomNode<NameSetRequirement | null>;

const requirements = {
  kind: "object",
  description:
    "What an identified caller must have; every part given must pass. Not allowed with `auth: public`. Failing scopes → 403 `insufficient_scope`; failing step-up (`acr`, `amr`, `maxAge`) → a new login or 401 `insufficient_user_authentication`; failing `request` → 403 `request_condition_failed`, before any credential is read; any other failure → 403.",
  fields: {
    scopes: {
      ...nameList("scope"),
      description: "All of these scopes (from the `scope` string or the `scp` string/list).",
    },
    roles: nameSet("Roles", "read from the provider's `roleClaims`, else `identity.roleClaims`"),
    groups: nameSet("Groups", "read from the provider's `groupClaims`, else `identity.groupClaims`"),
    audiences: { ...nameList("audience"), description: "The token's `aud` must include one of these." },
    clients: {
      ...nameList("client id"),
      description: "`client_id` (or `azp` when there is no `client_id`) must be one of these.",
    },
    principal: {
      kind: "string",
      enum: ["any", "user", "client"],
      default: "any",
      description:
        "`user`: person tokens only; `client`: machine tokens only. A token is a machine's when it has no `sub`, or its `sub` equals its `client_id`/`azp` and it carries no person claim (`email`, `preferred_username`, `name`, `given_name`, `family_name`, `nickname`, `upn`).",
    },
    claims: claimCheckNode(
      '`{all: [...]}`, `{any: [...]}`, `{not: {...}}` (nestable) or a leaf `{claim: <path>, <operator>: ...}` with one operator: `equals: v` / `notEquals: v`; `oneOf: [v, ...]` / `notOneOf: [...]`; `contains: v` (the claim is a list holding v, or equals v: a space-separated string is one value, see `hasAny`); `exists: true|false`; `matches: "^...$"` (a string claim, anchored, linear-time engine as `pathRegex`); `endsWith: "@example.com"` (a string claim, ASCII case folded as domains are); `greaterThan` / `atLeast` / `lessThan` / `atMost: n` (a number claim only: `"5"` never compares); `hasAll` / `hasAny` / `hasNone: [name, ...]` (the claim read as a set: a list\'s strings, or a space-separated string such as `scope`). Values compare by type and value: quote `"5"` for a string claim. A missing claim fails every operator except `exists: false`, `notEquals`, `notOneOf`, `hasNone` and a `not` of a check it fails. Example: `{all: [{claim: email, endsWith: "@example.com"}, {not: {claim: groups, hasAny: [suspended]}}, {claim: level, atLeast: 2}]}`.',
    ),
    acr: { ...nameList("acr value"), description: "Step-up: the `acr` of the token or session must be one of these." },
    amr: { ...nameList("amr entry"), description: "Step-up: every one of these must be in `amr` (e.g. `mfa`, `otp`)." },
    maxAge: {
      kind: "custom",
      typeLabel: "integer 1..31536000 or null",
      default: null,
      parse: parseMaxAge,
      jsonSchema: { type: ["integer", "null"], minimum: 1, maximum: 31536000 },
      description: "Step-up: most seconds since the caller's `auth_time`; a token without `auth_time` fails it.",
    },
    boundTokens: routeBoundTokensNode,
    request: requireRequestNode,
  },
} as const satisfies ObjectNode;

// The policy-wide requirements: those of `require` that read the caller (binding stays per route).
const { boundTokens: _boundTokens, ...defaultRequirementFields } = requirements.fields;

export const policyNode = {
  ...basePolicyNode,
  fields: {
    ...basePolicyNode.fields,
    defaults: {
      kind: "object",
      typeOptional: true,
      description: "What every rule that is not `auth: public` asks of a caller besides its own `require`.",
      fields: {
        require: {
          ...requirements,
          fields: defaultRequirementFields,
          description:
            "Requirements every non-public rule adds to its own `require` (both must hold: scopes and `amr` add up, `acr` must be in both lists, the smaller `maxAge` counts), including the catch-all rule whitelist mode appends: the central MFA and scope policy, e.g. `{amr: [mfa]}`. A rule opts out with `defaults: false` (check-config warns). Checked as the rule's own: who the caller is first, then scopes, then step-up.",
        },
      },
    },
  },
} as const satisfies ObjectNode;

/** `routes[].match.caseSensitive`: a boolean, or null for the default by `auth`. */
function parseCaseSensitive(value: unknown, path: string, report: CustomReport): CustomResult<boolean | null> {
  if (value === null || typeof value === "boolean") return { ok: true, value };
  report(path, "must be true, false or null (null: case-insensitive unless the route is auth: public)", { value });
  return { ok: false };
}

/** `require.maxAge`: seconds, or null for none. */
function parseMaxAge(value: unknown, path: string, report: CustomReport): CustomResult<number | null> {
  if (value === null) return { ok: true, value: null };
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 31_536_000) {
    report(path, "must be an integer 1..31536000 (seconds) or null", { value });
    return { ok: false };
  }
  return { ok: true, value };
}

export const routeNode = {
  kind: "object",
  description: "One route rule; the first rule that matches a request decides.",
  fields: {
    name: {
      kind: "string",
      pattern: /^[a-z0-9][a-z0-9_.-]{0,62}$/,
      required: true,
      description: "Unique name, used as a metric label (`default` is reserved in whitelist and blacklist mode).",
    },
    match: {
      kind: "object",
      description:
        "What requests the rule applies to; missing = every request. Paths are matched after normalisation (`/public/../admin` is `/admin`). A rule that is not `auth: public` also matches the path with one trailing slash toggled (`pathExact: /admin` covers `/admin/`, and `/admin/` covers `/admin`; never for `/` itself), as Express, Rails and ASP.NET Core serve both with one handler, while a public rule matches exactly.",
      fields: {
        host: {
          kind: "list",
          items: { kind: "string", format: hostPattern, description: "A host name." },
          acceptSingle: true,
          unique: true,
          default: [],
          outputKey: "hosts",
          description:
            "Host names (exact or `*.suffix`, which never matches the bare suffix), lower-cased; missing = any host.",
        },
        path: {
          kind: "string",
          format: routePath,
          nullable: true,
          default: null,
          description:
            'Path prefix on a segment boundary: "/api" matches "/api" and "/api/x", never "/apix". At most one of `path`, `pathExact`, `pathGlob`, `pathRegex`; none = every path.',
        },
        pathExact: {
          kind: "string",
          typeOptional: true,
          format: routeExactPath,
          nullable: true,
          default: null,
          description: "The whole path, exactly (for a public rule a trailing `/` counts; see `match` for the others).",
        },
        pathGlob: {
          kind: "string",
          typeOptional: true,
          format: routeGlob,
          nullable: true,
          default: null,
          description:
            "The whole path with whole-segment wildcards: `*` is one segment, `**` any number (`/files/*/meta`, `/docs/**`).",
        },
        pathRegex: {
          kind: "string",
          typeOptional: true,
          format: routeRegex,
          nullable: true,
          default: null,
          description:
            "A regular expression over the whole normalised path, anchored with `^` and `$`, at most 512 characters. It runs on a linear-time engine, so a crafted path cannot stall the gate: lookarounds, backreferences and counted repetition above 16 (`{17}`, `{1,64}`) are refused (use `+`, `*` or at most `{16}`). Paths longer than 4096 characters are refused (400 `path_invalid`) before any rule.",
        },
        methods: {
          kind: "list",
          typeOptional: true,
          items: { kind: "string", format: httpMethod, description: "A method." },
          unique: true,
          default: [],
          description:
            "HTTP methods, upper-cased; missing or empty = any method. `GET` covers `HEAD` too, as most frameworks route a HEAD to the GET handler.",
        },
        caseSensitive: {
          kind: "custom",
          typeOptional: true,
          typeLabel: "true, false or null",
          default: null,
          parse: parseCaseSensitive,
          jsonSchema: { type: ["boolean", "null"] },
          description:
            "Whether letter case counts when the path is matched. Missing or null: a rule that is not `auth: public` matches case-insensitively (ASCII letters of the path and of the pattern; a `pathRegex` as if it had the `i` flag) and a public rule exactly, so a path never falls to a looser rule because of letter case (`/Admin/y` is not let past an `/admin` rule by upstreams such as Express that ignore case). `true` or `false` sets it for this rule.",
        },
        headers: matchHeadersNode,
        query: matchQueryNode,
        sourceAddresses: matchSourceAddressesNode,
        sni: matchSniNode,
        time: matchTimeNode,
      },
    },
    auth: {
      kind: "string",
      enum: ["required", "optional", "public"],
      nullable: true,
      default: null,
      description:
        "`required`: a valid credential is needed; `optional`: identify a caller who brings one, never challenge; `public`: everyone passes. Must be written in `rules` mode; defaults to `public` in `whitelist` mode and to `required` in `blacklist` mode.",
    },
    providers: {
      kind: "list",
      items: { kind: "string", description: "A provider name." },
      unique: true,
      default: [],
      description:
        "Providers whose credentials the route accepts; browser login uses the first; missing = every configured provider.",
    },
    require: { ...requirements, typeOptional: true },
    deny: routeDenyNode,
    defaults: {
      kind: "boolean",
      typeOptional: true,
      default: true,
      description:
        "`false`: this rule does not add `policy.defaults.require` (check-config warns, as the rule is then weaker than the policy says). Public rules never add it.",
    },
    mtls: routeMtlsNode,
    assertion: routeAssertionNode,
    mode: {
      kind: "string",
      typeOptional: true,
      enum: ["enforce", "shadow"],
      default: "enforce",
      description:
        "`enforce`: the rule decides the requests it matches. `shadow`: the rule is evaluated (credential, binding and requirements, as its `auth` and `providers` say, without refreshing a session or starting a login) and a would-be denial is counted in `portcullis_shadow_denials_total{route,code}` and logged at info, but the rule never decides: the request goes on to the next matching rule, as if this one were not there. For rolling out a stricter rule safely: put it in shadow mode before the rule it will replace, watch the metric, then switch it to `enforce`. Not with `auth: public` (nothing to evaluate) or token exchange.",
    },
    forwardRequestHeaders: {
      kind: "list",
      typeOptional: true,
      items: {
        kind: "string",
        format: removableHeaderName,
        description: "A header name from `policy.removeRequestHeaders`.",
      },
      unique: true,
      default: [],
      description:
        "Headers from `policy.removeRequestHeaders` this route lets through from the client (e.g. `x-forwarded-prefix` for an app that builds its links from it behind a trusted proxy); missing = none.",
    },
    exchange: exchangeNode,
    tokenSource: tokenSourceNode,
    responseHeaders: routeResponseHeadersNode,
    denial: routeDenialNode,
    forwardToken: forwardTokenNode,
    apiKeys: {
      kind: "boolean",
      typeOptional: true,
      default: false,
      description:
        "Admit callers by an API key (the top-level `apiKeys` section) when the request brings no token: a key admits its client as a machine principal, and `require` applies to it as to a token. An unknown key → 401 `api_key_invalid`. Needs `auth: required` or `optional`.",
    },
  },
} as const satisfies ObjectNode;
