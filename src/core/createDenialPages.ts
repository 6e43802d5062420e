// A route's own denial bodies (`routes[].denial`): its 401 and 403 answers get the configured HTML
// page when a browser navigates, the configured JSON for API clients; status, WWW-Authenticate and
// the other headers stay as the gate made them. Only {{code}}, {{status}}, {{route}} and
// {{requestId}} are filled in, HTML-escaped: nothing else of the request reaches the page.
import type { RouteConfig } from "../config/PortcullisConfig.ts";
import type { AccessRequest } from "./AccessRequest.ts";
import type { Decision, Deny } from "./Decision.ts";
import { isBrowserNavigation } from "./isBrowserNavigation.ts";

export type DenialPages = (decision: Decision, request: AccessRequest) => Decision;

interface Bodies {
  readonly html: string | null;
  readonly json: string | null;
}

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** null when no route has a denial body of its own. */
export function createDenialPages(routes: readonly Pick<RouteConfig, "name" | "denial">[]): DenialPages | null {
  const byRoute = new Map<string, Bodies>();
  for (const { name, denial } of routes) {
    const html = denial?.html ?? null;
    const json = denial?.json ?? null;
    if (html !== null || json !== null) byRoute.set(name, { html, json });
  }
  if (byRoute.size === 0) return null;
  return (decision, request) => {
    if (decision.kind !== "deny" || decision.route === null) return decision;
    if (decision.status !== 401 && decision.status !== 403) return decision;
    const bodies = byRoute.get(decision.route);
    if (bodies === undefined) return decision;
    if (isBrowserNavigation(request.method, request.headers)) {
      if (bodies.html === null) return decision;
      return withBody(decision, "text/html; charset=utf-8", fill(bodies.html, decision, request.requestId));
    }
    return bodies.json === null ? decision : withBody(decision, "application/json", bodies.json);
  };
}

function fill(template: string, decision: Deny, requestId: string): string {
  const values: Readonly<Record<string, string>> = {
    code: decision.code,
    status: String(decision.status),
    route: decision.route ?? "",
    requestId,
  };
  return template.replace(/\{\{(code|status|route|requestId)\}\}/g, (_m, name: string) => escapeHtml(values[name]!));
}

function withBody(decision: Deny, contentType: string, body: string): Deny {
  const headers = decision.headers.map(([name, value]) =>
    name === "content-type" ? (["content-type", contentType] as const) : ([name, value] as const),
  );
  return { ...decision, headers, body };
}
