// Decision → the answer to nginx's `auth_request` subrequest. Allow: 200 with the identity headers
// (for `auth_request_set`), the owned headers to strip in one list, and a refreshed session's
// Set-Cookie; nginx cannot remove a header on condition, so the final upstream value of Cookie and
// Authorization (the client's own, or the decision's, or none) is always answered. Deny: the Check's status, headers and body, except a browser's login redirect, which
// becomes 401 with the login URL in a header (nginx's auth_request takes only 2xx, 401 and 403;
// `error_page 401 =302 $login_url` sends the browser on); Traefik and Caddy hand a denial to the
// client as it is, so for them (no loginUrlHeader) the 302 stays a 302.
import type { Decision } from "../core/Decision.ts";

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
