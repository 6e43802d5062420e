// Decision → the answer to a forward-auth request. Allow: 200 with the identity headers (for
// nginx's `auth_request_set`, Caddy's `copy_headers`), the owned headers to strip in one list, and
// a refreshed session's Set-Cookie; nginx cannot remove a header on condition, so the final
// upstream value of Cookie and Authorization (the client's own, or the decision's, or none) is
// always answered. Deny: the Check's status, headers and body, except a browser's login redirect,
// which becomes 401 with the login URL in a header (nginx's auth_request takes only 2xx, 401 and
// 403; `error_page 401 =302 $login_url` sends the browser on); Traefik and Caddy hand a denial to
// the client as it is, so for them (no loginUrlHeader) the 302 stays a 302. Envoy's http_service
// removes headers by the names in x-envoy-auth-headers-to-remove (toEnvoyAuthResponse).
import type { Decision } from "../core/Decision.ts";
import { internalErrorDecision } from "../core/deny.ts";

/** The owned headers the proxy must not pass upstream, comma-separated (nginx clears each by name). */
export const REMOVE_HEADERS_HEADER = "x-auth-remove-headers";

export interface ForwardAuthResponse {
  readonly status: number;
  /** Lower-case names; Set-Cookie may repeat. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string;
}

/** Client headers the decision may rewrite or strip, which nginx passes on unless told their final value. */
const CREDENTIAL_HEADERS = ["cookie", "authorization"] as const;

/**
 * `loginUrlHeader`: where a login redirect's URL goes on a 401 (nginx); null keeps the 302.
 * `requestHeaders`: the client's headers, names lower-cased (for the credential headers' final values).
 */
export function toForwardAuthResponse(
  decision: Decision,
  loginUrlHeader: string | null,
  requestHeaders: ReadonlyMap<string, string> = new Map(),
): ForwardAuthResponse {
  // A proxy asking by forward-auth cannot be told to drop a query parameter: a query token source's
  // token would reach the upstream, so the request is refused (check-config refuses the setup too).
  if (decision.kind === "allow" && (decision.removeQueryParameters?.length ?? 0) > 0)
    return toForwardAuthResponse(
      internalErrorDecision(decision.route, "a query token source cannot be removed by a forward-auth proxy"),
      null,
    );
  if (decision.kind === "allow") {
    const kept: Array<readonly [string, string]> = [];
    for (const name of CREDENTIAL_HEADERS) {
      const own = requestHeaders.get(name);
      const touched = decision.removeHeaders.includes(name) || decision.setHeaders.some(([n]) => n === name);
      if (!touched && own !== undefined) kept.push([name, own]);
    }
    return {
      status: 200,
      headers: [
        ...decision.setHeaders,
        ...kept,
        [REMOVE_HEADERS_HEADER, decision.removeHeaders.join(",")],
        ["cache-control", "no-store"],
        ...(decision.responseHeaders ?? []),
      ],
      body: "",
    };
  }
  if (decision.status === 302 && loginUrlHeader !== null) {
    const headers = decision.headers.map(([name, value]) =>
      name === "location" ? ([loginUrlHeader, value] as const) : ([name, value] as const),
    );
    return { status: 401, headers, body: "" };
  }
  return { status: decision.status, headers: decision.headers, body: decision.body };
}

/** Envoy's http_service removes the request headers this header names (after setting the copied ones). */
export const ENVOY_REMOVE_HEADERS_HEADER = "x-envoy-auth-headers-to-remove";

/**
 * Decision → the answer to Envoy's ext_authz http_service. Allow: 200 with the headers to set
 * (Envoy copies those in `allowed_upstream_headers`), the owned headers to remove in
 * x-envoy-auth-headers-to-remove (never one that is set: Envoy removes after it sets), and a
 * refreshed session's Set-Cookie (`allowed_client_headers_on_success`). Deny: as the Check's, the
 * 302 of a browser's login included (Envoy passes any status but 200 and 5xx to the client).
 */
export function toEnvoyAuthResponse(decision: Decision): ForwardAuthResponse {
  // Envoy's http_service cannot drop a query parameter either: refused as above.
  if (decision.kind !== "allow" || (decision.removeQueryParameters?.length ?? 0) > 0)
    return toForwardAuthResponse(decision, null);
  const set = new Set(decision.setHeaders.map(([name]) => name));
  const remove = decision.removeHeaders.filter((name) => !set.has(name));
  return {
    status: 200,
    headers: [
      ...decision.setHeaders,
      ...(remove.length > 0 ? [[ENVOY_REMOVE_HEADERS_HEADER, remove.join(",")] as const] : []),
      ["cache-control", "no-store"],
      ...(decision.responseHeaders ?? []),
    ],
    body: "",
  };
}
