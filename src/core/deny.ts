// Builds denial values from stable codes through the error registry (src/errors/ErrorCode.ts):
// status, RFC 6750 / RFC 9470 WWW-Authenticate, and a small JSON body for API clients or a small
// HTML page for browsers. Public text only; the detail stays in the log.
import { ERROR_CODES, type DenialCode, type ErrorSpec } from "../errors/ErrorCode.ts";
import type { Deny, HeaderList } from "./Decision.ts";
import { renderErrorPage } from "../errors/renderErrorPage.ts";

export const DEFAULT_REALM = "portcullis";

/** Extra WWW-Authenticate parameters: `scope` (RFC 6750), `acr_values` / `max_age` (RFC 9470), the DPoP scheme (RFC 9449). */
export interface ChallengeParams {
  readonly scope?: readonly string[];
  readonly acrValues?: readonly string[];
  readonly maxAge?: number;
  /** The DPoP challenge (RFC 9449 §7.1): beside Bearer, or alone (`only`) where a bearer token cannot pass. */
  readonly dpop?: DpopChallenge;
}

export interface DpopChallenge {
  /** The proof algorithms accepted (`algs`), from config. */
  readonly algs: readonly string[];
  /** Only DPoP-bound tokens can pass here: no Bearer challenge, and the error goes on the DPoP one. */
  readonly only?: boolean;
}

/** The errors of the DPoP scheme itself: answered on its challenge alone (the client spoke DPoP). */
const DPOP_ERRORS: ReadonlySet<string> = new Set(["invalid_dpop_proof", "use_dpop_nonce"]);

export interface DenyOptions {
  readonly route: string | null;
  readonly realm?: string;
  readonly detail?: string;
  readonly provider?: string;
  /** Answer with an HTML page instead of JSON (a browser navigation). */
  readonly browser?: boolean;
  readonly challenge?: ChallengeParams;
  /** Sent to the client as well, e.g. Set-Cookie clearing a dead session. */
  readonly extraHeaders?: HeaderList;
}

interface Rendered {
  readonly status: number;
  readonly headers: HeaderList;
  readonly body: string;
}

// Denials without parameters are rendered once per (code, realm, flavour) and shared.
const rendered = new Map<string, Rendered>();

/** Challenge parameter values come from config (scopes, acr values), never from the request; quotes and backslashes are dropped anyway. */
function quoted(value: string): string {
  return `"${value.replace(/["\\\r\n]/g, "")}"`;
}

function render(code: DenialCode, realm: string, browser: boolean, challenge: ChallengeParams | undefined): Rendered {
  const spec = ERROR_CODES[code];
  const headers: Array<[string, string]> = [
    ["content-type", browser ? "text/html; charset=utf-8" : "application/json"],
    ["cache-control", "no-store"],
  ];
  if (spec.status === 401 || (spec.status === 403 && spec.oauthError !== undefined))
    headers.push(["www-authenticate", challengeOf(spec, realm, challenge)]);
  const body = browser
    ? renderErrorPage(code, "check").body
    : JSON.stringify({ error: code, error_description: spec.description });
  return { status: spec.status, headers, body };
}

/**
 * The WWW-Authenticate value: Bearer (RFC 6750 §3), and the DPoP challenge after it where DPoP is
 * accepted, in one header (Envoy keeps one value of a header on a denial; RFC 9110 §11.6.1 allows a
 * list of challenges). The error and its parameters go on the scheme the client used: DPoP's own
 * errors, and every error where only DPoP will do, on the DPoP challenge alone.
 */
function challengeOf(spec: ErrorSpec, realm: string, challenge: ChallengeParams | undefined): string {
  const params = errorParams(spec, challenge);
  const dpop = challenge?.dpop;
  const dpopError = spec.oauthError !== undefined && DPOP_ERRORS.has(spec.oauthError);
  const bearer = `Bearer realm=${quoted(realm)}${params.map((p) => `, ${p}`).join("")}`;
  if (dpop === undefined && !dpopError) return bearer;
  const algs = dpop === undefined || dpop.algs.length === 0 ? [] : [`algs=${quoted(dpop.algs.join(" "))}`];
  const alone = dpopError || dpop?.only === true;
  const dpopParams = [...(alone ? params : []), ...algs];
  const dpopValue = dpopParams.length === 0 ? "DPoP" : `DPoP ${dpopParams.join(", ")}`;
  return alone ? dpopValue : `${bearer}, ${dpopValue}`;
}

/** RFC 6750 §3.1: a request with no credential gets the challenge without an error code. */
function errorParams(spec: ErrorSpec, challenge: ChallengeParams | undefined): string[] {
  const params: string[] = [];
  if (spec.oauthError) params.push(`error="${spec.oauthError}"`, `error_description=${quoted(spec.description)}`);
  if (challenge?.scope !== undefined && challenge.scope.length > 0)
    params.push(`scope=${quoted(challenge.scope.join(" "))}`);
  if (challenge?.acrValues !== undefined && challenge.acrValues.length > 0)
    params.push(`acr_values=${quoted(challenge.acrValues.join(" "))}`);
  if (challenge?.maxAge !== undefined) params.push(`max_age=${quoted(String(challenge.maxAge))}`);
  return params;
}

export function deny(code: DenialCode, options: DenyOptions): Deny {
  const realm = options.realm ?? DEFAULT_REALM;
  const browser = options.browser === true;
  let r: Rendered;
  if (options.challenge === undefined) {
    const key = `${code}\u0000${realm}\u0000${browser ? "html" : "json"}`;
    r = rendered.get(key) ?? render(code, realm, browser, undefined);
    rendered.set(key, r);
  } else {
    r = render(code, realm, browser, options.challenge);
  }
  return {
    kind: "deny",
    route: options.route,
    code,
    status: r.status,
    headers:
      options.extraHeaders === undefined || options.extraHeaders.length === 0
        ? r.headers
        : [...r.headers, ...options.extraHeaders],
    body: r.body,
    ...(options.detail !== undefined ? { detail: options.detail } : {}),
    ...(options.provider !== undefined ? { provider: options.provider } : {}),
  };
}

/** A 302 to `location` (the IdP for a login, or back to the page after one), with its cookies. */
export function redirectDecision(
  location: string,
  setCookies: readonly string[],
  options: { route: string | null; provider?: string; detail?: string },
): Deny {
  return {
    kind: "deny",
    route: options.route,
    code: "login_required",
    status: 302,
    headers: [
      ["location", location],
      ["cache-control", "no-store"],
      ...setCookies.map((value) => ["set-cookie", value] as const),
    ],
    body: "",
    ...(options.detail !== undefined ? { detail: options.detail } : {}),
    ...(options.provider !== undefined ? { provider: options.provider } : {}),
  };
}

export function internalErrorDecision(route: string | null, detail: string): Deny {
  return deny("internal_error", { route, detail });
}
