// Readers for what a Check decision carries, shared by the Gate's unit tests: a header it sets
// upstream (allow) or answers with (deny), its Set-Cookie values, its redirect, and a one-word
// summary of what decided.
import type { Decision } from "../../src/core/Decision.ts";

/** A header the upstream gets (allow) or the client gets (deny). */
export function headerOf(d: Decision, name: string): string | undefined {
  const list = d.kind === "allow" ? d.setHeaders : d.headers;
  return list.find(([n]) => n === name)?.[1];
}

/** The Set-Cookie values on the client's response. */
export function setCookiesOf(d: Decision): string[] {
  const list = d.kind === "allow" ? (d.responseHeaders ?? []) : d.headers;
  return list.filter(([n]) => n === "set-cookie").map(([, v]) => v);
}

/** Where a redirect sends the browser; "" when the decision is not one. */
export function locationOf(d: Decision): string {
  return headerOf(d, "location") ?? "";
}

/** What decided: `allow:<route>`, or `<denial code>:<route or ->`. */
export function outcomeOf(d: Decision): string {
  return d.kind === "allow" ? `allow:${d.route}` : `${d.code}:${d.route ?? "-"}`;
}

/** The header names an allowed request loses before the upstream; throws when the request was denied. */
export function removalsOf(d: Decision): readonly string[] {
  if (d.kind !== "allow") throw new Error(`expected allow, got ${JSON.stringify(d)}`);
  return d.removeHeaders;
}
