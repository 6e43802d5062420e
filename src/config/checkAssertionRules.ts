// Cross-field rules of the signed identity assertion: a route that adds it needs an issuer and an
// audience, a public route cannot add one, at most two keys, its header is not another identity
// header's, and its fixed claims leave room for the identity within `maxBytes`. Warnings when
// generated keys would differ between replicas (no Redis to share them), and for a shadow rule's own
// assertion (it signs nothing until the rule enforces).

import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import type { ConfigIssue } from "./ConfigIssue.ts";
import { keyPath } from "./keyPath.ts";
import { MAX_ASSERTION_KEYS } from "./assertionSchema.ts";

/** Bytes an assertion needs beside its claims' values: header, signature, names, times, jti. */
const FIXED_OVERHEAD_BYTES = 260;
/** Room the identity claims must have at least. */
const MIN_IDENTITY_BYTES = 256;

export function checkAssertionRules(config: PartialConfig, { problems, warnings }: RuleFindings): void {
  const assertion = config.identity?.assertion ?? {};
  const path = "identity.assertion";
  const routesWithAssertion = assertionRoutes(config, { problems, warnings });
  if ((assertion.keys ?? []).length > MAX_ASSERTION_KEYS)
    problems.push({
      path: keyPath(path, "keys"),
      message: `holds more than ${MAX_ASSERTION_KEYS} keys: the first signs and one more is published (the next or the previous); remove the oldest`,
    });
  const header = assertion.header;
  if (header !== undefined) {
    const identity = config.identity ?? {};
    const taken = [
      ...Object.entries(identity.headers ?? {}).map(([key, name]) => [keyPath("identity.headers", key), name] as const),
      ...Object.keys(identity.claimHeaders ?? {}).map(
        (name) => [keyPath("identity.claimHeaders", name), name] as const,
      ),
    ].find(([, name]) => name === header);
    if (taken !== undefined)
      problems.push({
        path: keyPath(path, "header"),
        message: `header ${JSON.stringify(header)} is already used by ${taken[0]}`,
      });
  }
  if (routesWithAssertion.length === 0) return;
  const first = routesWithAssertion[0]!;
  if (typeof assertion.issuer !== "string")
    problems.push({
      path: keyPath(path, "issuer"),
      message: `is required: ${first.where} (${first.name}) adds a signed assertion; set Portcullis's public origin, e.g. "https://auth.example.com"`,
    });
  else if (assertion.issuer.startsWith("http://"))
    warnings.push({
      path: keyPath(path, "issuer"),
      message: "is http://: upstreams fetch the signing keys without TLS; use https:// outside local development",
    });
  checkSize(config, routesWithAssertion, { problems, warnings });
  const redis = config.redis ?? {};
  const shared = typeof redis.url === "string" || (redis.sentinels ?? []).length > 0;
  if ((assertion.keys ?? []).length === 0 && !shared)
    warnings.push({
      path: keyPath(path, "keys"),
      message:
        "is empty and no redis is configured: each process generates its own signing key at start, so several replicas publish different keys and a restart changes it; configure keys (or redis to share a generated one)",
    });
}

interface AssertionRoute {
  readonly where: string;
  readonly name: string;
  readonly audience: string | null;
}

/**
 * The routes that add the assertion, each with its audience; problems for public routes and missing
 * audiences, a warning for a shadow route's own assertion.
 */
function assertionRoutes(config: PartialConfig, { problems, warnings }: RuleFindings): AssertionRoute[] {
  const globalOn = config.identity?.assertion?.enabled === true;
  const globalAudience = config.identity?.assertion?.audience ?? null;
  const found: AssertionRoute[] = [];
  (config.routes ?? []).forEach((route, index) => {
    if (route === undefined) return;
    const where = keyPath("routes", index);
    const own = route.assertion?.enabled ?? null;
    const mode = config.policy?.mode;
    const auth = route.auth ?? (mode === "whitelist" ? "public" : mode === "blacklist" ? "required" : null);
    if (auth === "public") {
      if (own === true)
        problems.push({
          path: keyPath(keyPath(where, "assertion"), "enabled"),
          message:
            "is true on an auth: public route, which identifies nobody: remove it, or make the route optional or required",
        });
      return;
    }
    if (!(own ?? globalOn)) return;
    if (route.mode === "shadow" && (own === true || typeof route.assertion?.audience === "string"))
      warnings.push(shadowAssertion(where, route.name ?? where));
    const audience = route.assertion?.audience ?? globalAudience;
    if (typeof audience !== "string")
      problems.push({
        path: keyPath(keyPath(where, "assertion"), "audience"),
        message: `is required: the audience (aud) of the upstream behind ${route.name ?? where}, e.g. "orders-api" (or set identity.assertion.audience for every route)`,
      });
    found.push({ where, name: route.name ?? where, audience: typeof audience === "string" ? audience : null });
  });
  return found;
}

/**
 * A shadow rule never lets a request through, so nothing is signed for it: the requests it matches
 * reach the upstream with the assertion of the rule that decides them, or none. A warning, not a
 * refusal: nothing is signed that the rule does not gate, and staging the rule exactly as it will be
 * enforced (assertion included) is what shadow mode is for; the warning keeps anyone from believing
 * the upstream already gets this audience's assertion.
 */
function shadowAssertion(where: string, name: string): ConfigIssue {
  return {
    path: keyPath(where, "assertion"),
    message: `is set on ${name}, a mode: shadow rule, which never lets a request through: no assertion is signed for it, and the requests it matches reach the upstream with the assertion of the rule that decides them, or none. It applies once the rule is switched to enforce; if the upstream needs the assertion now, set it on the deciding rule (or identity.assertion.enabled for every route)`,
  };
}

/** Refuses a maxBytes its fixed claims (issuer, audience, the longest provider issuer) leave too little of. */
function checkSize(config: PartialConfig, routes: readonly AssertionRoute[], { problems }: RuleFindings): void {
  const assertion = config.identity?.assertion ?? {};
  const maxBytes = assertion.maxBytes ?? 2048;
  const issuer = assertion.issuer ?? "";
  const idp = Math.max(0, ...Object.values(config.providers ?? {}).map((p) => (p.issuer ?? "").length));
  for (const route of routes) {
    // Base64url turns 3 bytes into 4: the claims' JSON counts 4/3 in the header value.
    const fixed = FIXED_OVERHEAD_BYTES + Math.ceil(((issuer.length + (route.audience?.length ?? 0) + idp) * 4) / 3);
    if (maxBytes - fixed < MIN_IDENTITY_BYTES) {
      problems.push({
        path: keyPath("identity.assertion", "maxBytes"),
        message: `is ${maxBytes}: the fixed claims of ${route.where} (${route.name}) take ${fixed} bytes and leave under ${MIN_IDENTITY_BYTES} for the identity; raise it (up to 8192) or shorten the audience`,
      });
      return;
    }
  }
}
