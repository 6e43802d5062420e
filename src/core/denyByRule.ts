// The answer of a deny rule (`routes[].deny`): the rule's own code in the body and its status, with
// the challenge that status calls for: 403 as any failed requirement (Bearer insufficient_scope), 401
// as a refused credential (Bearer invalid_token, RFC 6750 §3.1), 404 none, as if nothing were there.
// The decision's code stays `policy_denied`, a bounded metric reason; the log names the rule.
import type { AccessRequest } from "./AccessRequest.ts";
import type { CompiledRoute } from "./compileRoutes.ts";
import type { Deny, HeaderList } from "./Decision.ts";
import type { GateTrace } from "./GateTrace.ts";
import { isBrowserNavigation } from "./isBrowserNavigation.ts";
import type { CompiledDenial } from "./compileDenials.ts";
import { DEFAULT_REALM } from "./deny.ts";
import { renderStatusPage } from "../errors/renderStatusPage.ts";

const DESCRIPTION = "access to this route is denied by policy";
const TITLE: Readonly<Record<CompiledDenial["status"], string>> = {
  401: "Sign-in required",
  403: "Access denied",
  404: "Not found",
};

// One rendered answer per (rule, flavour): built on first use, shared after.
const rendered = new WeakMap<
  CompiledDenial,
  { json?: Omit<Deny, "route" | "detail">; html?: Omit<Deny, "route" | "detail"> }
>();

function challenge(status: CompiledDenial["status"]): HeaderList {
  if (status === 404) return [];
  const error = status === 401 ? "invalid_token" : "insufficient_scope";
  return [
    ["www-authenticate", `Bearer realm="${DEFAULT_REALM}", error="${error}", error_description="${DESCRIPTION}"`],
  ];
}

function render(denial: CompiledDenial, browser: boolean): Omit<Deny, "route" | "detail"> {
  const body = browser
    ? renderStatusPage({
        status: denial.status,
        title: TITLE[denial.status],
        message: "Access to this page is denied by policy.",
      })
    : JSON.stringify({ error: denial.code, error_description: DESCRIPTION });
  const headers: HeaderList = [
    ["content-type", browser ? "text/html; charset=utf-8" : "application/json"],
    ["cache-control", "no-store"],
    ...challenge(denial.status),
  ];
  return { kind: "deny", code: "policy_denied", status: denial.status, headers, body };
}

export function denyByRule(
  denial: CompiledDenial,
  options: { readonly route: string; readonly browser: boolean; readonly provider?: string },
): Deny {
  const kept = rendered.get(denial) ?? {};
  const flavour = options.browser ? "html" : "json";
  const answer = kept[flavour] ?? render(denial, options.browser);
  kept[flavour] = answer;
  rendered.set(denial, kept);
  return {
    ...answer,
    route: options.route,
    detail: `deny rule deny[${denial.index}] ${denial.code} (status ${denial.status})`,
    ...(options.provider !== undefined ? { provider: options.provider } : {}),
  };
}

/** A rule whose deny has no `when`: every request it matches, before any credential is read. */
export function denyAllOf(
  route: CompiledRoute,
  denial: CompiledDenial,
  request: AccessRequest,
  trace: GateTrace | null,
): Deny {
  trace?.record({
    step: "deny",
    outcome: denial.code,
    detail: `deny[${denial.index}] applies to every request the route matches`,
  });
  return denyByRule(denial, { route: route.name, browser: isBrowserNavigation(request.method, request.headers) });
}
