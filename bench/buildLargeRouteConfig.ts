// A 200-rule, 20-host route list shaped like a gateway fronting many services: per host a handful of
// prefix, exact, glob, regex and method rules (some with requirements), then wildcard and any-host
// rules. The bench request's rule (`orders-read` on svc7) sits late in its host's rules.
// With `policyOperators`, every rule that reads a caller also has deny rules (a blocked client, a
// suspended group) and the orders-read rule a claim tree of the newer operators (set, suffix,
// regex, negation, numeric); POLICY_DEFAULTS is the `policy` to pair with it.

export const LARGE_TABLE_HOSTS = Array.from({ length: 20 }, (_, i) => `svc${i}.example.com`);
/** A request that walks most of svc7's rules before it matches. */
export const LARGE_TABLE_REQUEST = { host: "svc7.example.com", path: "/api/v2/orders/17", method: "GET" } as const;

/** `policy.defaults.require` for the table with `policyOperators`: a scope every caller must hold. */
export const POLICY_DEFAULTS = { defaults: { require: { claims: { claim: "scope", hasAny: ["openid"] } } } };

const DENY = [
  { code: "blocked_client", when: { clients: ["legacy-cli"] } },
  { code: "account_suspended", status: 401, when: { claims: { claim: "groups", hasAny: ["suspended"] } } },
];
const ORDERS_CLAIMS = {
  all: [
    { claim: "scope", hasAll: ["bench"] },
    { claim: "email", endsWith: "@example.com" },
    { claim: "email", matches: "^[a-z0-9.-]+@example\\.com$" },
    { not: { claim: "status", oneOf: ["suspended", "locked"] } },
    { claim: "tier", notEquals: "free" },
    { claim: "iat", atLeast: 0 },
  ],
};

export function buildLargeRouteConfig(provider: string, policyOperators = false): Record<string, unknown>[] {
  const routes: Record<string, unknown>[] = [];
  const withPolicy = (name: string, extra: Record<string, unknown>): Record<string, unknown> => {
    if (!policyOperators || extra["auth"] === "public") return extra;
    const require =
      name === "orders-read" ? { ...(extra["require"] as object), claims: ORDERS_CLAIMS } : extra["require"];
    return { ...extra, deny: DENY, ...(require === undefined ? {} : { require }) };
  };
  LARGE_TABLE_HOSTS.forEach((host, i) => {
    const r = (name: string, match: Record<string, unknown>, extra: Record<string, unknown> = { auth: "required" }) =>
      routes.push({
        name: `svc${i}-${name}`,
        match: { host, ...match },
        providers: [provider],
        ...withPolicy(name, extra),
      });
    r("health", { pathExact: "/healthz" }, { auth: "public" });
    r("static", { path: "/static", methods: ["GET", "HEAD"] }, { auth: "public" });
    r("admin", { path: "/admin" }, { auth: "required", require: { roles: ["admin"] } });
    r("files", { pathGlob: "/files/*/meta" });
    r("users", { pathRegex: "^/v[0-9]+/users/[0-9]+$" }, { auth: "required", require: { scopes: ["users.read"] } });
    r(
      "orders-write",
      { path: "/api/v2/orders", methods: ["POST", "PUT", "DELETE"] },
      { auth: "required", require: { scopes: ["orders.write"] } },
    );
    r("reports", { pathGlob: "/api/v2/reports/**" });
    r("v1", { path: "/api/v1" });
    r("orders-read", { path: "/api/v2/orders", methods: ["GET"] });
  });
  // 20 rules beyond the per-host 180: shared paths on every subdomain, then any host.
  for (let i = 0; i < 10; i++) {
    routes.push({ name: `shared-${i}`, match: { host: "*.example.com", path: `/shared/${i}` }, auth: "public" });
  }
  for (let i = 0; i < 9; i++) {
    routes.push({ name: `global-${i}`, match: { pathExact: `/.well-known/thing-${i}` }, auth: "public" });
  }
  routes.push({ name: "fallback", match: {}, auth: "required", providers: [provider] });
  return routes;
}
