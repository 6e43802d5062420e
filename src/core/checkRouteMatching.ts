// Warnings about how the route rules will match, read the way the matcher reads them: a rule an
// earlier one shadows wholly (unreachable) or in part, a listed rule that swallows the mode's
// catch-all, and each ambiguous path shape let through. A config rule (config/ConfigRule.ts) that
// the composition root adds to parsing, so check-config and serve report these with every problem.

import type { PartialConfig, RuleFindings } from "../config/checkConfigRules.ts";
import type { PartialRoute } from "../config/checkRouteRules.ts";
import type { ConfigIssue } from "../config/ConfigIssue.ts";
import { keyPath } from "../config/keyPath.ts";
import { PATH_SHAPES } from "./normalizePath.ts";
import {
  covers,
  intersects,
  routeShapeOf,
  sharesOnlyToggledSpelling,
  writtenCoverage,
  type RouteShape,
} from "./routeCoverage.ts";
import { requestConditionsGiven } from "../config/requestConditionsGiven.ts";

const PATH_FORMS = ["path", "pathExact", "pathGlob", "pathRegex"] as const;
/** Name of the catch-all rule whitelist and blacklist mode append (see compileRoutes.ts). */
const DEFAULT_RULE = "default";

export function checkRouteMatching(config: PartialConfig, { warnings }: RuleFindings): void {
  const mode = config.policy?.mode;
  const modeDefault = mode === "whitelist" ? "public" : mode === "blacklist" ? "required" : null;
  const routes = config.routes ?? [];
  const shapes = routes.map((route) => (route === undefined ? null : shapeOf(route, modeDefault)));
  warnAllowedPathShapes(config.policy?.allowPathShapes ?? [], warnings);
  // A shadow rule (mode: shadow) never decides, so it takes no request from a later rule; a rule with
  // request conditions takes only the requests that meet them, and a later rule is its fallback.
  const deciding = shapes.map((shape, i) =>
    routes[i]?.mode === "shadow" || hasRequestConditions(routes[i]) ? null : shape,
  );
  warnShadowedRoutes(routes, shapes, deciding, warnings);
  const auths = routes.map((route) => (route?.auth === null ? modeDefault : route?.auth));
  warnClientChosenRules(routes, shapes, auths, warnings);
  if (modeDefault !== null) warnCatchAllShadowed(mode as string, deciding, warnings);
}

function hasRequestConditions(route: PartialRoute | undefined): boolean {
  return requestConditionsGiven(route?.match);
}

const CLIENT_CHOSEN = { headers: "a header", query: "a query", sni: "an SNI" } as const;

const AUTH_STRENGTH: Readonly<Record<string, number>> = { public: 0, optional: 1, required: 2 };

/**
 * A rule whose header, query or SNI condition is all that sets it apart from a stricter rule after it
 * (for the requests both match): the client writes headers, queries and the TLS server name, so any
 * client picks the looser rule by sending them. Source addresses and time windows are not the
 * client's to choose and are not warned about.
 */
function warnClientChosenRules(
  routes: readonly (PartialRoute | undefined)[],
  shapes: readonly (RouteShape | null)[],
  auths: readonly (string | null | undefined)[],
  warnings: ConfigIssue[],
): void {
  shapes.forEach((earlier, i) => {
    const route = routes[i];
    const match = route?.match;
    const auth = auths[i];
    if (earlier === null || route === undefined || route.mode === "shadow" || typeof auth !== "string") return;
    const key =
      (match?.headers?.length ?? 0) > 0
        ? "headers"
        : (match?.query?.length ?? 0) > 0
          ? "query"
          : (match?.sni?.length ?? 0) > 0
            ? "sni"
            : null;
    if (key === null) return;
    const strength = AUTH_STRENGTH[auth] ?? 0;
    for (let j = i + 1; j < shapes.length; j++) {
      const later = shapes[j];
      const laterAuth = auths[j];
      if (later === null || typeof laterAuth !== "string" || !intersects(earlier, later)) continue;
      if ((AUTH_STRENGTH[laterAuth] ?? 0) <= strength) continue;
      warnings.push({
        path: `${keyPath("routes", i)}.match.${key}`,
        message: `is the client's to send: any client that sends it gets this rule (auth ${auth}) instead of ${label(routes, j)} (auth ${laterAuth}) for the requests both match; ${CLIENT_CHOSEN[key]} condition may narrow a rule, never be what keeps a caller out (see docs/policy.md)`,
      });
      return;
    }
  });
}

/** How the rule matches, or null when it cannot be analysed: a part failed to parse, or it breaks a rule already reported. */
function shapeOf(route: PartialRoute, modeDefault: string | null): RouteShape | null {
  // `auth` absent is null in the parser output; undefined means it failed to parse (already reported).
  const auth = route.auth === null ? modeDefault : route.auth;
  const match = route.match;
  if (match === undefined) return null;
  const forms = PATH_FORMS.filter((form) => typeof match[form] === "string");
  if (forms.length > 1) return null;
  const complete =
    PATH_FORMS.every((form) => match[form] !== undefined) &&
    match.hosts?.every((h) => h !== undefined) === true &&
    match.methods?.every((m) => m !== undefined) === true &&
    match.caseSensitive !== undefined;
  // How a rule matches depends on its auth (case, trailing slash): no auth, no analysis.
  if (!complete || typeof auth !== "string") return null;
  return routeShapeOf(match as Parameters<typeof routeShapeOf>[0], auth);
}

const EVERY_REQUEST = routeShapeOf(
  { hosts: [], path: null, pathExact: null, pathGlob: null, pathRegex: null, methods: [] },
  "public",
) as RouteShape;

/** A listed rule that matches everything turns the mode's own catch-all off: say so. */
function warnCatchAllShadowed(mode: string, shapes: readonly (RouteShape | null)[], warnings: ConfigIssue[]): void {
  const index = shapes.findIndex((shape) => shape !== null && covers(shape, EVERY_REQUEST));
  if (index === -1) return;
  const fallback = mode === "whitelist" ? "auth: required" : "auth: public";
  warnings.push({
    path: keyPath("routes", index),
    message: `matches every request, so the catch-all rule ${mode} mode appends (${DEFAULT_RULE}, ${fallback}) is never reached; give it a match or remove it`,
  });
}

/** Each ambiguous path shape let through: what an attacker can now reach past a rule. */
function warnAllowedPathShapes(allowed: readonly (string | undefined)[], warnings: ConfigIssue[]): void {
  for (const shape of allowed) {
    if (shape === undefined || !Object.hasOwn(PATH_SHAPES, shape)) continue;
    warnings.push({
      path: keyPath("policy", "allowPathShapes"),
      message: `includes ${shape}: ${PATH_SHAPES[shape as keyof typeof PATH_SHAPES].exposes}; make sure no upstream behind this Portcullis reads it that way, or remove it`,
    });
  }
}

function label(routes: readonly (PartialRoute | undefined)[], index: number): string {
  const name = routes[index]?.name;
  return name === undefined ? `routes[${index}]` : `routes[${index}] (${name})`;
}

/**
 * Later rule wholly inside an earlier one: unreachable. Partly inside, without being the broader of
 * the two: a warning too. A general rule after specific ones (`/` after `/public`) is the normal
 * way to write a fallback and is not reported; "broader" is judged on the paths and methods a rule
 * is written for, whatever its case and trailing-slash settings, so `/api` (public, exact case) after
 * `/api/users` (protected, any case) is still a fallback, and `/x` (protected) after a public `/x` is
 * not (it only gets the other casings and spellings). An earlier rule that takes the paths a
 * later one is written for only through the other trailing-slash spelling is named as such.
 */
function warnShadowedRoutes(
  routes: readonly (PartialRoute | undefined)[],
  shapes: readonly (RouteShape | null)[],
  deciding: readonly (RouteShape | null)[],
  warnings: ConfigIssue[],
): void {
  shapes.forEach((later, index) => {
    if (later === null) return;
    const overlapping: number[] = [];
    for (let i = 0; i < index; i++) {
      const earlier = deciding[i];
      if (earlier === null || earlier === undefined) continue;
      if (covers(earlier, later)) {
        const why = sharesOnlyToggledSpelling(earlier, later)
          ? toggledSpellingReason(routes, i, later)
          : `${label(routes, i)} matches every request it would; move it above routes[${i}], narrow routes[${i}], or remove it`;
        warnings.push({ path: keyPath("routes", index), message: `is unreachable: ${why}` });
        return;
      }
      if (!intersects(earlier, later)) continue;
      if (sharesOnlyToggledSpelling(earlier, later)) {
        warnings.push({
          path: keyPath("routes", index),
          message: `is partly shadowed: ${toggledSpellingReason(routes, i, later)}`,
        });
        return;
      }
      // Not a fallback: the later rule is not broader as written, or the earlier one takes all it is written for.
      if (writtenCoverage(later, earlier) === false || writtenCoverage(earlier, later) === true) overlapping.push(i);
    }
    const first = overlapping[0];
    if (first === undefined) return;
    const more = overlapping.length > 1 ? ` (and ${overlapping.length - 1} more earlier route(s))` : "";
    warnings.push({
      path: keyPath("routes", index),
      message: `is partly shadowed: ${label(routes, first)}${more} comes first and decides the requests both match; move this route above it if it should decide them`,
    });
  });
}

/**
 * Why `later` loses its paths to the rule at `earlier` through the other trailing-slash spelling,
 * and what to do. This is the case to spell out: a strict-slash upstream serves `/x/` and `/x` as
 * two resources, so `/x/` would get the earlier rule's (often looser) requirements.
 */
function toggledSpellingReason(
  routes: readonly (PartialRoute | undefined)[],
  earlier: number,
  later: RouteShape,
): string {
  const spelling =
    later.path.kind === "segments" && later.path.exact !== null
      ? JSON.stringify(later.path.exact)
      : "the paths this route is written for";
  return (
    `${label(routes, earlier)} comes first and, not being public, also matches its path with one trailing slash toggled, so it takes ${spelling} first ` +
    `(an upstream that serves the two spellings as different resources would get this route's requests under routes[${earlier}]'s requirements); ` +
    `put this route above routes[${earlier}], or merge the two into one rule`
  );
}
