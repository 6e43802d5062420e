// Cross-field rules of `policy` and `routes`: unique names, known providers, one path form per rule,
// `auth` written in rules mode, no requirements on public routes. Reads the possibly partial parser
// output. Warnings about how rules match (shadowed rules, path shapes let through) need the matcher
// and are core/checkRouteMatching.ts, which the composition root adds to parsing.

import type { ConfigIssue } from "./ConfigIssue.ts";
import { whenIsEmpty } from "./checkPolicyRules.ts";
import { keyPath } from "./keyPath.ts";
import type { PartialConfig } from "./checkConfigRules.ts";
import { requestConditionsGiven } from "./requestConditionsGiven.ts";

export type PartialRoute = NonNullable<NonNullable<PartialConfig["routes"]>[number]>;

interface Findings {
  readonly problems: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

const PATH_FORMS = ["path", "pathExact", "pathGlob", "pathRegex"] as const;
/** Name of the catch-all rule whitelist and blacklist mode append (see core/compileRoutes.ts). */
const DEFAULT_RULE = "default";

export function checkRouteRules(config: PartialConfig, { problems }: Findings): void {
  const providerNames = Object.keys(config.providers ?? {});
  const mode = config.policy?.mode;
  const modeDefault = mode === "whitelist" ? "public" : mode === "blacklist" ? "required" : null;
  const routes = config.routes ?? [];
  const firstByName = new Map<string, number>();

  if (mode === "whitelist" && providerNames.length === 0) {
    problems.push({
      path: "policy.mode",
      message:
        "is whitelist: every request no route lists needs a credential, but no provider is configured under providers; add one",
    });
  }

  routes.forEach((route, index) => {
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

    if (route.mode === "shadow" && auth === "public" && !deniesAll(route)) problems.push(shadowOnPublic(path));
    const match = route.match;
    if (match === undefined) return;
    const forms = PATH_FORMS.filter((form) => typeof match[form] === "string");
    if (forms.length > 1) {
      problems.push({
        path: keyPath(path, "match"),
        message: `has ${forms.join(" and ")}: use exactly one of path, pathExact, pathGlob, pathRegex (or none for every path)`,
      });
    }
  });
}

/** A deny rule without `when`: a shadow rule with one needs no caller, it counts what a block would refuse. */
function deniesAll(route: PartialRoute): boolean {
  return (route.deny ?? []).some((rule) => rule !== undefined && whenIsEmpty(rule.when));
}

function shadowOnPublic(path: string): ConfigIssue {
  return {
    path: keyPath(path, "mode"),
    message:
      "is shadow but the route is public, so it has nothing to evaluate and never denies; set auth: required (or optional) with requirements, or remove mode",
  };
}

function hasRequirements(require: Record<string, unknown>): boolean {
  return Object.entries(require).some(([key, value]) => {
    if (key === "principal") return value !== "any" && value !== undefined;
    if (key === "request") return requestConditionsGiven(value as Parameters<typeof requestConditionsGiven>[0]);
    if (Array.isArray(value)) return value.length > 0;
    return value !== null && value !== undefined;
  });
}
