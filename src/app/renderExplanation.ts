// What `portcullis explain` prints: the request as the gate got it, each step of the trace, the
// response a client would get and, when allowed, the headers the upstream request would get. Values
// that carry credentials (Authorization, Cookie, Set-Cookie) are shown by name only.
import type { Decision, HeaderList } from "../core/Decision.ts";
import type { Explanation } from "./explainRequest.ts";

const CREDENTIAL_HEADERS = new Set(["authorization", "cookie", "proxy-authorization", "dpop"]);

/** A header value as explain shows it: a cookie by its name, any other credential not at all. */
function shown(name: string, value: string, credentials: ReadonlySet<string>): string {
  const lower = name.toLowerCase();
  if (lower === "set-cookie") return `${value.split("=", 1)[0] ?? ""}=(value not shown)`;
  return CREDENTIAL_HEADERS.has(lower) || credentials.has(lower) ? "(value not shown)" : value;
}

type Shown = (list: HeaderList | undefined) => [string, string][];

const shownWith =
  (credentials: ReadonlySet<string>): Shown =>
  (list) =>
    (list ?? []).map(([name, value]) => [name, shown(name, value, credentials)]);

/** The decision with credential values taken out: the JSON form's `decision`. */
function publicDecision(decision: Decision, headerList: Shown): Record<string, unknown> {
  if (decision.kind === "deny") {
    const { headers, ...rest } = decision;
    return { ...rest, headers: headerList(headers) };
  }
  const { setHeaders, responseHeaders, renewAt: _renewAt, ...rest } = decision;
  return { ...rest, setHeaders: headerList(setHeaders), responseHeaders: headerList(responseHeaders) };
}

/** The JSON form as an object: `explain --json` prints it, a live request's trace logs it (docs/explain.md). */
export function explanationObject(explanation: Explanation): {
  readonly request: Explanation["request"];
  readonly trace: Explanation["trace"];
  readonly decision: Record<string, unknown>;
} {
  const { request, trace, decision, credentialHeaders } = explanation;
  return { request, trace, decision: publicDecision(decision, shownWith(credentialHeaders)) };
}

export function explanationJson(explanation: Explanation): string {
  return `${JSON.stringify(explanationObject(explanation), null, 2)}\n`;
}

export function renderExplanation(explanation: Explanation): string {
  const { request, trace, decision } = explanation;
  const headerList = shownWith(explanation.credentialHeaders);
  const lines = [`request: ${request.method} ${request.scheme}://${request.host} ${request.path}`];
  for (const entry of trace)
    lines.push(`  ${entry.step}: ${entry.outcome}${entry.detail === undefined ? "" : `: ${entry.detail}`}`);
  if (decision.kind === "deny") {
    lines.push(`response: ${decision.status} ${decision.code}`);
    for (const [name, value] of headerList(decision.headers)) lines.push(`  ${name}: ${value}`);
    if (decision.body !== "") lines.push(`  body: ${decision.body}`);
    return `${lines.join("\n")}\n`;
  }
  lines.push("response: allowed (the request goes on to the upstream)");
  for (const [name, value] of headerList(decision.responseHeaders)) lines.push(`  to the client ${name}: ${value}`);
  for (const [name, value] of headerList(decision.setHeaders)) lines.push(`  upstream gets ${name}: ${value}`);
  if (decision.removeHeaders.length > 0)
    lines.push(`  removed before the upstream: ${decision.removeHeaders.join(", ")}`);
  return `${lines.join("\n")}\n`;
}
