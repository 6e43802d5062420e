// `routes[].match.headers`, `.query`, `.sourceAddresses`, `.sni` and `.time`: request attributes a
// rule's match may test besides host, path and method, and `require.request`, the same tests as a
// requirement. Each condition narrows the rule (all must hold); parsed here, compiled once by
// core/compileRequestConditions.ts.
import type { CustomReport, CustomResult, ListNode, ObjectNode } from "./configSchema.ts";
import { hostPattern } from "./configFormats.ts";
import { timeWindowNode } from "./timeWindowSchema.ts";
import { linearRegexProblem } from "./compileLinearRegex.ts";
import { isAnchoredRegex, REGEX_MAX_LENGTH } from "./routePathPattern.ts";
import { proxyCidr } from "./forwardAuthSchema.ts";

/** One test of a header or query parameter: its value equals a string, matches a regex, or it is (not) present. */
export type ValueCondition =
  | { readonly name: string; readonly equals: string }
  | { readonly name: string; readonly matches: string }
  | { readonly name: string; readonly present: boolean };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$/;
const TESTS = ["equals", "matches", "present"] as const;

function parseCondition(what: "header" | "query parameter") {
  return (value: unknown, path: string, report: CustomReport): CustomResult<ValueCondition> => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      report(path, `must be an object {name, equals | matches | present}, e.g. {name: x-tenant, equals: acme}`, {
        value,
      });
      return { ok: false };
    }
    const entry = value as Record<string, unknown>;
    let ok = true;
    for (const key of Object.keys(entry))
      if (key !== "name" && !(TESTS as readonly string[]).includes(key)) {
        report(`${path}.${key}`, "is not a known key: use name and one of equals, matches, present");
        ok = false;
      }
    const name = entry["name"];
    const nameOk =
      typeof name === "string" && (what === "header" ? TOKEN.test(name) : name.length > 0 && name.length <= 256);
    if (!nameOk) {
      report(
        `${path}.name`,
        `must be a ${what} name${what === "header" ? " (a token such as x-tenant)" : " (1..256 characters)"}`,
        {
          value: name,
        },
      );
      ok = false;
    }
    const given = TESTS.filter((key) => Object.hasOwn(entry, key));
    if (given.length !== 1) {
      report(
        path,
        `must have exactly one of equals, matches, present (has ${given.length === 0 ? "none" : given.join(", ")})`,
      );
      return { ok: false };
    }
    const test = given[0] as (typeof TESTS)[number];
    const operand = entry[test];
    if (test === "present" && typeof operand !== "boolean") {
      report(`${path}.present`, "must be true or false", { value: operand });
      return { ok: false };
    }
    if (test !== "present" && typeof operand !== "string") {
      report(`${path}.${test}`, "must be a string", { value: operand });
      return { ok: false };
    }
    if (test === "matches") {
      const source = operand as string;
      const problem =
        source.length > REGEX_MAX_LENGTH
          ? `must be at most ${REGEX_MAX_LENGTH} characters`
          : !isAnchoredRegex(source)
            ? 'must be anchored: start it with "^" and end it with "$" (e.g. "^v[0-9]+$")'
            : linearRegexProblem(source);
      if (problem !== null) {
        report(`${path}.matches`, problem, { value: source });
        return { ok: false };
      }
    }
    if (!ok) return { ok: false };
    const key = what === "header" ? (name as string).toLowerCase() : (name as string);
    return { ok: true, value: { name: key, [test]: operand } as ValueCondition };
  };
}

const conditionJsonSchema = {
  type: "object",
  additionalProperties: false,
  required: ["name"],
  properties: {
    name: { type: "string", minLength: 1, maxLength: 256 },
    equals: { type: "string" },
    matches: { type: "string", maxLength: REGEX_MAX_LENGTH, pattern: String.raw`^\^(?:[^\\]|\\[\s\S])*\$$` },
    present: { type: "boolean" },
  },
  oneOf: [{ required: ["equals"] }, { required: ["matches"] }, { required: ["present"] }],
} as const;

const conditionList = (what: "header" | "query parameter", description: string) =>
  ({
    kind: "list",
    typeOptional: true,
    items: {
      kind: "custom",
      typeLabel: "`{name, equals | matches | present}`",
      default: null,
      parse: parseCondition(what),
      jsonSchema: conditionJsonSchema,
      description: `A ${what} test.`,
    },
    default: [],
    description,
  }) as const satisfies ListNode;

export const matchHeadersNode = conditionList(
  "header",
  'Request headers the rule also needs; every one must hold (a condition only narrows a rule). Each is `{name, equals: value}`, `{name, matches: "^...$"}` (anchored, linear-time engine as `pathRegex`) or `{name, present: true|false}`; names are case-insensitive, values exact. A repeated header is tested as Envoy joins it (`a,b`). Envoy must send the header to ext_authz (`check-config --envoy` adds each to its `allowed_headers`): one it leaves out reads as absent. Header values are the client\'s own: on a rule that grants more than the rule after it, a header condition lets any client choose the looser rule (see docs/policy.md). Example: `[{name: x-api-version, equals: "2"}, {name: x-debug, present: false}]`.',
);

export const matchQueryNode = conditionList(
  "query parameter",
  "Query parameters the rule also needs, read from the request's raw query (names and values percent-decoded once, `+` as a space), with the same tests as `headers`. A parameter given twice (`?a=1&a=2`), or a query that cannot be decoded, fails every test of the rule (even `present`), so the rule does not match: fail closed, never a guess which value counts. Example: `[{name: format, equals: csv}]`.",
);

export const matchSourceAddressesNode = {
  kind: "list",
  typeOptional: true,
  items: { kind: "string", format: proxyCidr, description: "An address block." },
  unique: true,
  default: [],
  description:
    "Address blocks (`address/prefix`) the client's address must be in; missing or empty = any address. The address is Envoy's `source.address` (the TCP peer of its listener): behind a load balancer that is the balancer's address, unless `policy.trustedForwardedHops` says how many proxies in front of Envoy append to `X-Forwarded-For` (then the entry that many places left of the peer's own, see docs/policy.md; a header that does not have it fails the condition). An IPv4 peer on a dual-stack listener (`::ffff:a.b.c.d`) is checked as IPv4; a request without a known address does not match. Example: `[10.0.0.0/8, \"fd00::/8\"]`.",
} as const satisfies ListNode;

export const matchSniNode = {
  kind: "list",
  typeOptional: true,
  items: { kind: "string", format: hostPattern, description: "A server name, or `*.suffix` for one more label." },
  unique: true,
  default: [],
  description:
    "TLS server names (SNI) the client's TLS handshake must have named: exact names, or `*.example.com` for exactly one label before the suffix (`a.example.com`, not `example.com` or `a.b.example.com`); case-insensitive; missing or empty = any. Read from the Check's `attributes.tls_session.sni`, which Envoy sends only with `include_tls_session: true` on its ext_authz filter (`check-config --envoy` prints it); a request without SNI (plain HTTP, a client that sent none, an Envoy that does not send it) does not match. The SNI is the client's choice and may differ from its Host: like a header it may narrow a rule, never be what keeps a caller out. Example: `[api.example.com, \"*.internal.example.com\"]`.",
} as const satisfies ListNode;

export const matchTimeNode = timeWindowNode;

/** `require.request` (and `policy.defaults.require.request`): the match conditions, as a requirement that answers 403. */
export const requireRequestNode = {
  kind: "object",
  typeOptional: true,
  description:
    'Conditions on the request the rule\'s callers must meet, with the same shapes as `match`\'s (`headers`, `query`, `sourceAddresses`, `sni`, `time`), every one given must hold. Unlike `match`, a request that fails one does not go on to the next rule: it is refused with 403 `request_condition_failed` before any credential is read (signing in would not help). Example: `{sourceAddresses: [10.0.0.0/8], time: {days: [mon, tue, wed, thu, fri], from: "08:00", to: "20:00", timeZone: Europe/Berlin}}`.',
  fields: {
    headers: matchHeadersNode,
    query: matchQueryNode,
    sourceAddresses: matchSourceAddressesNode,
    sni: matchSniNode,
    time: matchTimeNode,
  },
} as const satisfies ObjectNode;
