// Cross-field rules of `policy` and `routes`: unique names, known providers, one path form per rule,
// `auth` written in rules mode, no requirements on public routes; and warnings for rules that an
// earlier rule shadows wholly (unreachable) or in part. Reads the possibly partial parser output.

import type { ConfigIssue } from "./ConfigIssue.ts";
import { keyPath } from "./keyPath.ts";
import {
  covers,
  intersects,
  routeShapeOf,
  sharesOnlyToggledSpelling,
  writtenCoverage,
  type RouteShape,
} from "./routeCoverage.ts";
import { PATH_SHAPES, type PathShape } from "../core/normalizePath.ts";

export interface PartialRoute {
  name?: string;
  match?: {
    hosts?: (string | undefined)[];
    path?: string | null;
    pathExact?: string | null;
    pathGlob?: string | null;
    pathRegex?: string | null;
    methods?: (string | undefined)[];
    caseSensitive?: boolean | null;
  };
  auth?: string | null;
  providers?: (string | undefined)[];
  require?: Record<string, unknown>;
}

export interface PartialRouteConfig {
  providers?: Record<string, unknown>;
  policy?: { mode?: string; allowPathShapes?: (string | undefined)[] };
  routes?: (PartialRoute | undefined)[];
}

interface Findings {
  readonly problems: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

const PATH_FORMS = ["path", "pathExact", "pathGlob", "pathRegex"] as const;
/** Name of the catch-all rule whitelist and blacklist mode append (see core/compileRoutes.ts). */
const DEFAULT_RULE = "default";

export function checkRouteRules(config: PartialRouteConfig, { problems, warnings }: Findings): void {
  const providerNames = Object.keys(config.providers ?? {});
  const mode = config.policy?.mode;
  const modeDefault = mode === "whitelist" ? "public" : mode === "blacklist" ? "required" : null;
  const routes = config.routes ?? [];
  const firstByName = new Map<string, number>();
  const shapes: (RouteShape | null)[] = [];

  if (mode === "whitelist" && providerNames.length === 0) {
    problems.push({
      path: "policy.mode",
      message:
        "is whitelist: every request no route lists needs a credential, but no provider is configured under providers; add one",
    });
  }

  routes.forEach((route, index) => {
    shapes.push(null);
    if (route === undefined) return;
    const path = keyPath("routes", index);

    if (route.name !== undefined) {
      const first = firstByName.get(route.name);
      if (first === undefined) firstByName.set(route.name, index);
      else
        problems.push({
          path: keyPath(path, "name"),
          message: `duplicate route name ${JSON.stringify(route.name)} (also routes[${first}]); give each route its own name`,
        });
      if (route.name === DEFAULT_RULE && modeDefault !== null) {
        problems.push({
          path: keyPath(path, "name"),
          message: `"${DEFAULT_RULE}" is the name of the catch-all rule ${mode} mode appends; rename this route`,
        });
      }
    }

    (route.providers ?? []).forEach((name, i) => {
      if (name !== undefined && !providerNames.includes(name)) {
        const known = providerNames.length > 0 ? providerNames.join(", ") : "none";
        problems.push({
          path: keyPath(keyPath(path, "providers"), i),
          message: `unknown provider ${JSON.stringify(name)} (configured: ${known}); name a key of providers or remove it`,
        });
      }
    });

    // `auth` absent is null in the parser output; undefined means it failed to parse (already reported).
    const auth = route.auth === null ? modeDefault : route.auth;
    if (route.auth === null && modeDefault === null) {
      problems.push({
        path: keyPath(path, "auth"),
        message:
          "is required in rules mode: write auth: required, optional or public (or set policy.mode to whitelist or blacklist for a default)",
      });
    }
    if ((auth === "required" || auth === "optional") && providerNames.length === 0) {
      problems.push({
        path: keyPath(path, "auth"),
        message: `is "${auth}" but no provider is configured under providers; add one or make the route public`,
      });
    }
    if (auth === "public" && route.require !== undefined && hasRequirements(route.require)) {
      const why = route.auth === null ? `auth is public (the ${mode} mode default)` : "auth is public";
      problems.push({
        path: keyPath(path, "require"),
        message: `has requirements but ${why}, so nobody is checked; set auth: required (or optional), or remove require`,
      });
    }

    const match = route.match;
    if (match === undefined) return;
    const forms = PATH_FORMS.filter((form) => typeof match[form] === "string");
    if (forms.length > 1) {
      problems.push({
        path: keyPath(path, "match"),
        message: `has ${forms.join(" and ")}: use exactly one of path, pathExact, pathGlob, pathRegex (or none for every path)`,
      });
      return;
    }
    const complete =
      PATH_FORMS.every((form) => match[form] !== undefined) &&
      match.hosts?.every((h) => h !== undefined) === true &&
      match.methods?.every((m) => m !== undefined) === true &&
      match.caseSensitive !== undefined;
    // How a rule matches depends on its auth (case, trailing slash): no auth, no analysis.
    if (!complete || typeof auth !== "string") return;
    shapes[index] = routeShapeOf(match as Parameters<typeof routeShapeOf>[0], auth);
  });

  warnAllowedPathShapes(config.policy?.allowPathShapes ?? [], warnings);
  warnShadowedRoutes(routes, shapes, warnings);
  if (modeDefault !== null) warnCatchAllShadowed(mode as string, shapes, warnings);
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
      message: `includes ${shape}: ${PATH_SHAPES[shape as PathShape].exposes}; make sure no upstream behind this Portcullis reads it that way, or remove it`,
    });
  }
}

function hasRequirements(require: Record<string, unknown>): boolean {
  return Object.entries(require).some(([key, value]) => {
    if (key === "principal") return value !== "any" && value !== undefined;
    if (Array.isArray(value)) return value.length > 0;
    return value !== null && value !== undefined;
  });
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
  warnings: ConfigIssue[],
): void {
  shapes.forEach((later, index) => {
    if (later === null) return;
    const overlapping: number[] = [];
    for (let i = 0; i < index; i++) {
      const earlier = shapes[i];
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
