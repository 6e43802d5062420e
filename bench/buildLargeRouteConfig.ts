// A 200-rule, 20-host route list shaped like a gateway fronting many services: per host a handful of
// prefix, exact, glob, regex and method rules (some with requirements), then wildcard and any-host
// rules. The bench request's rule (`orders-read` on svc7) sits late in its host's rules.

export const LARGE_TABLE_HOSTS = Array.from({ length: 20 }, (_, i) => `svc${i}.example.com`);
/** A request that walks most of svc7's rules before it matches. */
export const LARGE_TABLE_REQUEST = { host: "svc7.example.com", path: "/api/v2/orders/17", method: "GET" } as const;

export function buildLargeRouteConfig(provider: string): Record<string, unknown>[] {
  const routes: Record<string, unknown>[] = [];
  LARGE_TABLE_HOSTS.forEach((host, i) => {
    const r = (name: string, match: Record<string, unknown>, extra: Record<string, unknown> = { auth: "required" }) =>
      routes.push({ name: `svc${i}-${name}`, match: { host, ...match }, providers: [provider], ...extra });
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
