// Cross-field rules and warnings that one key alone cannot decide: providers named by routes exist,
// route names are unique, owned header names are distinct, http:// needs allowInsecureHttp, listeners
// do not collide. It reads the possibly partial output of parseWithSchema, so every field is optional.

import type { ConfigIssue } from "./ConfigIssue.ts";
import { keyPath } from "./keyPath.ts";

interface Address {
  host?: string;
  port?: number;
}
interface PartialProvider {
  issuer?: string;
  jwksUri?: string | null;
  allowInsecureHttp?: boolean;
}
interface PartialRoute {
  name?: string;
  match?: { hosts?: (string | undefined)[]; path?: string };
  auth?: string;
  providers?: (string | undefined)[];
}
export interface PartialConfig {
  listen?: Record<string, Address | undefined>;
  providers?: Record<string, PartialProvider>;
  routes?: (PartialRoute | undefined)[];
  identity?: {
    headers?: Record<string, string | undefined>;
    claimHeaders?: Record<string, string>;
    context?: { enabled?: boolean };
  };
}

export interface RuleFindings {
  readonly problems: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

export function checkConfigRules(config: PartialConfig, findings: RuleFindings): void {
  checkProviders(config, findings);
  checkRoutes(config, findings);
  checkHeaders(config, findings);
  checkListen(config, findings);
}

function checkProviders(config: PartialConfig, { problems, warnings }: RuleFindings): void {
  // Tokens find their provider by exact `iss`, so two providers with one issuer would be ambiguous.
  const firstByIssuer = new Map<string, string>();
  for (const [name, provider] of Object.entries(config.providers ?? {})) {
    const path = keyPath("providers", name);
    if (typeof provider.issuer === "string") {
      const first = firstByIssuer.get(provider.issuer);
      if (first === undefined) firstByIssuer.set(provider.issuer, name);
      else problems.push({ path: keyPath(path, "issuer"), message: `same issuer as providers.${first}; each issuer may be configured once` });
    }
    const insecureAllowed = provider.allowInsecureHttp === true;
    for (const key of ["issuer", "jwksUri"] as const) {
      const url = provider[key];
      if (typeof url === "string" && url.startsWith("http://") && !insecureAllowed) {
        problems.push({
          path: keyPath(path, key),
          // The value is not quoted: a URL may carry a credential in its query, and may come from ${ENV}.
          message: "must be an https:// URL (got an http:// URL); set allowInsecureHttp: true for local development only",
        });
      }
    }
    if (insecureAllowed) {
      warnings.push({
        path: keyPath(path, "allowInsecureHttp"),
        message: "is true: http:// issuer and JWKS URLs are accepted; never use this in production",
      });
    }
  }
}

function checkRoutes(config: PartialConfig, { problems, warnings }: RuleFindings): void {
  const providerNames = Object.keys(config.providers ?? {});
  const firstByName = new Map<string, number>();
  const routes = config.routes ?? [];
  routes.forEach((route, index) => {
    if (route === undefined) return;
    const path = keyPath("routes", index);
    if (route.name !== undefined) {
      const first = firstByName.get(route.name);
      if (first === undefined) firstByName.set(route.name, index);
      else problems.push({ path: keyPath(path, "name"), message: `duplicate route name ${JSON.stringify(route.name)} (also routes[${first}])` });
    }
    (route.providers ?? []).forEach((name, i) => {
      if (name !== undefined && !providerNames.includes(name)) {
        const known = providerNames.length > 0 ? providerNames.join(", ") : "none";
        problems.push({ path: keyPath(keyPath(path, "providers"), i), message: `unknown provider ${JSON.stringify(name)} (configured: ${known})` });
      }
    });
    if (route.auth === "required" && providerNames.length === 0) {
      problems.push({ path: keyPath(path, "auth"), message: 'is "required" but no provider is configured under providers' });
    }
    const shadow = findShadowingRoute(routes, index);
    if (shadow !== undefined) {
      warnings.push({
        path: keyPath(path, "match"),
        message: `route is unreachable: routes[${shadow}] comes first and matches every request it would match`,
      });
    }
  });
}

/** Index of an earlier route whose hosts and path prefix cover this one's (simple, exact-host check). */
function findShadowingRoute(routes: readonly (PartialRoute | undefined)[], index: number): number | undefined {
  const later = routes[index]?.match;
  if (later?.path === undefined || later.hosts === undefined) return undefined;
  for (let i = 0; i < index; i += 1) {
    const earlier = routes[i]?.match;
    if (earlier?.path === undefined || earlier.hosts === undefined) continue;
    const hostsCovered =
      earlier.hosts.length === 0 || (later.hosts.length > 0 && later.hosts.every((h) => earlier.hosts?.includes(h)));
    const p = earlier.path;
    const pathCovered = p === "/" || later.path === p || later.path.startsWith(`${p}/`);
    if (hostsCovered && pathCovered) return i;
  }
  return undefined;
}

function checkHeaders(config: PartialConfig, { problems }: RuleFindings): void {
  const owner = new Map<string, string>();
  const claim = (name: string | undefined, path: string): void => {
    if (name === undefined) return;
    const first = owner.get(name);
    if (first === undefined) owner.set(name, path);
    else problems.push({ path, message: `header ${JSON.stringify(name)} is already used by ${first}` });
  };
  const identity = config.identity ?? {};
  for (const [key, name] of Object.entries(identity.headers ?? {})) claim(name, keyPath("identity.headers", key));
  for (const name of Object.keys(identity.claimHeaders ?? {})) claim(name, keyPath("identity.claimHeaders", name));
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

function checkListen(config: PartialConfig, { problems, warnings }: RuleFindings): void {
  const listen = config.listen ?? {};
  const seen = new Map<number, string>();
  for (const [key, address] of Object.entries(listen)) {
    if (address?.port === undefined || address.port === 0) continue;
    const first = seen.get(address.port);
    if (first === undefined) seen.set(address.port, key);
    else problems.push({ path: keyPath("listen", key), message: `port ${address.port} is already used by listen.${first}` });
  }
  const admin = listen.admin;
  if (admin?.host !== undefined && !LOOPBACK.test(admin.host)) {
    warnings.push({
      path: "listen.admin",
      message: `is not on loopback (${admin.host}): /metrics and health endpoints are reachable from the network`,
    });
  }
}
