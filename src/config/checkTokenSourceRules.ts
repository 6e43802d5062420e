// Cross-field rules of `routes[].tokenSource`: one place at most, a route that reads a credential,
// a cookie that is not one of Portcullis's own, a header that is not an identity header it sets,
// and a query parameter only where the front door can remove it (not forward-auth).
import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import { keyPath } from "./keyPath.ts";

/** Portcullis's own cookie names start with the session cookie's name (sealed chunks, login state). */
const OWN_COOKIE_PREFIXES = ["__Host-portcullis", "portcullis"];

export function checkTokenSourceRules(config: PartialConfig, { problems }: RuleFindings): void {
  const sessionCookie = config.session?.cookieName;
  const ownPrefixes = typeof sessionCookie === "string" ? [...OWN_COOKIE_PREFIXES, sessionCookie] : OWN_COOKIE_PREFIXES;
  const identityHeaders = new Set([
    ...Object.values(config.identity?.headers ?? {}),
    ...Object.keys(config.identity?.claimHeaders ?? {}),
  ]);
  const forwardAuth = config.forwardAuth?.enabled === true;
  (config.routes ?? []).forEach((route, index) => {
    const source = route?.tokenSource;
    if (route === undefined || source === undefined) return;
    const path = keyPath(keyPath("routes", index), "tokenSource");
    const set = (["header", "cookie", "query"] as const).filter((kind) => typeof source[kind] === "string");
    if (set.length === 0) return;
    if (set.length > 1)
      problems.push({ path, message: `sets ${set.join(" and ")}: a route reads its token from one place` });
    if (route.auth === "public")
      problems.push({ path, message: "is set on an auth: public route, which reads no token: remove it" });
    const cookie = source.cookie;
    if (typeof cookie === "string" && ownPrefixes.some((prefix) => cookie.startsWith(prefix)))
      problems.push({
        path: keyPath(path, "cookie"),
        message: "collides with Portcullis's own session cookies: name another cookie (e.g. api_token)",
      });
    const header = source.header;
    if (typeof header === "string" && identityHeaders.has(header))
      problems.push({
        path: keyPath(path, "header"),
        message: "is an identity header Portcullis sets for the upstream: name another header (e.g. x-api-token)",
      });
    if (typeof source.query === "string" && forwardAuth)
      problems.push({
        path: keyPath(path, "query"),
        message:
          "cannot be removed by a forward-auth proxy (forwardAuth.enabled), so the token would reach the upstream: use a header or cookie source there",
      });
  });
}
