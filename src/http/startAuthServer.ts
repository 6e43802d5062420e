// The auth HTTP listener that Envoy routes /oauth2/* to (with ext_authz disabled on that route):
// `/oauth2/callback` completes a login, `/oauth2/start` begins one on request, `/oauth2/sign_out`
// asks for confirmation (GET) and signs out (POST from a trusted origin), `/oauth2/backchannel_logout`
// takes the IdP's logout tokens; `/.well-known/jwks.json` (also `/oauth2/jwks.json`) and
// `/.well-known/openid-configuration` publish the keys that sign identity assertions. Everything
// else, and the login routes when browser login is not configured, is a small JSON 404. With
// forward-auth on, its path (`forwardAuth.path`; for Envoy's http_service every path below it too) is
// handed to the transport's handler first. Every error
// answer is a registry code (src/errors/ErrorCode.ts): its status and public text come from there.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ErrorCode } from "../errors/ErrorCode.ts";
import { renderErrorJson } from "../errors/renderErrorJson.ts";
import { renderErrorPage, type ErrorPageOptions, type PageSurface } from "../errors/renderErrorPage.ts";
import { escapeHtml } from "../errors/renderStatusPage.ts";
import { backchannelLogout } from "../login/backchannelLogout.ts";
import { completeLogin } from "../login/completeLogin.ts";
import type { BrowserLogin } from "../login/createBrowserLogin.ts";
import { parseSessionCookies } from "../login/parseSessionCookies.ts";
import { signOut } from "../login/signOut.ts";
import { startLoginAt } from "../login/startLogin.ts";
import { listenHttpServer } from "../observability/listenHttpServer.ts";
import { createBoundedHttpServer, type PeerTimeLimits } from "../observability/createBoundedHttpServer.ts";
import type { AssertionDocuments } from "../identity/renderAssertionDocuments.ts";
import type { ServerTls } from "../observability/ServerTls.ts";

export interface AuthServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface AuthServerOptions {
  readonly host: string;
  readonly port: number;
  /** SO_REUSEPORT: each `serve --workers` worker listens on the same port with its own socket. */
  readonly reusePort?: boolean;
  /** The current browser login (a config reload may replace it); absent when browser login is off. */
  readonly login?: (() => BrowserLogin) | null;
  /** The current generation's assertion keys and discovery document; null when there are none (404). */
  readonly assertionDocuments?: () => AssertionDocuments | null;
  /** The forward-auth endpoint of the current config, asked per request; null while it is off. */
  readonly forwardAuth?: () => ForwardAuthRoute | null;
  /** How long a peer may take; default PEER_TIME_LIMITS. */
  readonly peerTimeLimits?: PeerTimeLimits;
  /** HTTPS (`listen.tls`); absent: plain HTTP. */
  readonly tls?: ServerTls;
  readonly logger?: {
    info(obj: object, msg: string): void;
    warn(obj: object, msg: string): void;
    error(obj: object, msg: string): void;
  };
}

/**
 * Pages never run scripts, never load anything, and never leak the callback URL (it holds the code).
 * No `form-action`: Chromium applies it to the redirects after a submit too, and the sign-out form's
 * POST is answered with a redirect to the IdP's end-session endpoint on another origin.
 */
const PAGE_HEADERS = {
  "content-type": "text/html; charset=utf-8",
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
};
const MAX_FORM_BYTES = 4096;
/** When an IdP should post a back-channel logout again that could not be recorded: a Redis blip, not an outage. */
const BACKCHANNEL_RETRY_AFTER_SECONDS = "5";

/** A path this listener hands to another front door as it is (the forward-auth endpoint). */
export interface ForwardAuthRoute {
  readonly path: string;
  /** Every path below `path` is the endpoint's too (Envoy's http_service appends the original path). */
  readonly below: boolean;
  handle(req: IncomingMessage, res: ServerResponse): void;
}

/** Whether a request target is the forward-auth endpoint's. */
export function isForwardAuthTarget(route: ForwardAuthRoute, target: string | undefined): boolean {
  const path = requestPath(target);
  return path === route.path || (route.below && path.startsWith(`${route.path}/`));
}

type AuthLogger = NonNullable<AuthServerOptions["logger"]>;

/** What every route handler reads: the current browser login and the logger. */
interface Routes {
  /** Asked for at each step: a config reload between two awaits hands the next step the new sessions. */
  readonly login: () => BrowserLogin;
  readonly logger: AuthLogger | undefined;
}

export async function startAuthServer(options: AuthServerOptions): Promise<AuthServer> {
  const login = options.login ?? null;
  const logger = options.logger;
  const routes: Routes | null = login === null ? null : { login, logger };
  const documents = options.assertionDocuments ?? (() => null);
  const forwardAuth = options.forwardAuth ?? (() => null);
  const server = createBoundedHttpServer(
    (req, res) => {
      const forward = forwardAuth();
      if (forward !== null && isForwardAuthTarget(forward, req.url)) return forward.handle(req, res);
      route(routes, documents, req, res).catch((error: unknown) => {
        logger?.error({ err: error instanceof Error ? error.name : "unknown" }, "auth endpoint failed");
        if (!res.headersSent) page(res, "internal_error", "auth_listener");
        else res.destroy();
      });
    },
    options.peerTimeLimits,
    options.tls,
  );
  return listenHttpServer(server, options.port, options.host, { reusePort: options.reusePort === true });
}

/** The path of a request target, without its query; "" for anything but origin form. */
export function requestPath(target: string | undefined): string {
  if (target === undefined || !target.startsWith("/")) return "";
  const query = target.indexOf("?");
  return query === -1 ? target : target.slice(0, query);
}

type RouteHandler = (routes: Routes, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

async function route(
  routes: Routes | null,
  documents: () => AssertionDocuments | null,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://auth.invalid");
  const published = PUBLISHED.get(url.pathname);
  if (published !== undefined) return publish(res, req.method, documents()?.[published] ?? null);
  const handler = routes === null ? undefined : ROUTE_HANDLERS.get(url.pathname);
  if (routes === null || handler === undefined) return errorJson(res, "not_found");
  return handler(routes, req, res, url);
}

/** GET /oauth2/callback: completes a login and redirects back, or a page saying why not. */
async function callbackRoute(routes: Routes, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method !== "GET") return methodNotAllowed(res, "GET");
  const outcome = await completeLogin(
    routes.login(),
    url.searchParams,
    parseSessionCookies(req.headers.cookie),
    req.headers["user-agent"] ?? null,
  );
  if (outcome.kind === "redirect") {
    routes.logger?.info({}, "login completed");
    return redirect(res, outcome.location, outcome.setCookies);
  }
  const { reason, status, detail, note, retry, setCookies } = outcome;
  routes.logger?.info({ reason, status, detail }, "login failed");
  return page(res, reason, "callback", {
    note,
    setCookies,
    ...(retry === null ? {} : { link: { href: retry, text: "Try again" } }),
  });
}

/** GET /oauth2/start?rd=: begins a login on request. */
async function startRoute(routes: Routes, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method !== "GET") return methodNotAllowed(res, "GET");
  const started = await startLoginAt(
    routes.login(),
    url.searchParams.get("rd"),
    parseSessionCookies(req.headers.cookie),
  );
  if (started.kind === "redirect") return redirect(res, started.location, started.setCookies);
  return page(res, started.kind === "refused" ? started.reason : "idp_unavailable", "start");
}

/** /oauth2/sign_out: GET asks for confirmation, POST from a trusted origin signs out. */
async function signOutRoute(routes: Routes, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method === "GET" || req.method === "HEAD") return confirmSignOut(res, url.searchParams.get("rd"));
  if (req.method !== "POST") return methodNotAllowed(res, "GET, POST");
  // No logout CSRF: a sign-out must come from a page of ours (browsers send Origin on POST).
  const origin = req.headers.origin;
  if (origin === undefined || !routes.login().trustedOrigins.has(origin)) {
    return page(res, "signout_origin_untrusted", "sign_out");
  }
  const form = await readForm(req);
  if (form === null) return page(res, "signout_form_unreadable", "sign_out");
  const outcome = await signOut(routes.login(), parseSessionCookies(req.headers.cookie), form.get("rd"));
  if (outcome.kind === "refused") return page(res, outcome.reason, "sign_out");
  if (outcome.kind === "unavailable") {
    // Never a false "signed out": the cookie is kept so the user can retry, and the retry
    // (back to the confirmation page, rd kept) finishes the sign-out once the store answers.
    routes.logger?.warn({ reason: outcome.reason, detail: outcome.detail }, "sign-out could not be completed");
    const rd = form.get("rd");
    const retry =
      rd === null
        ? "/oauth2/sign_out"
        : `/oauth2/sign_out?${new URLSearchParams({ rd: rd.slice(0, 2048) }).toString()}`;
    return page(res, outcome.reason, "sign_out", { link: { href: retry, text: "Try again" } });
  }
  routes.logger?.info({}, "signed out");
  return redirect(res, outcome.location, outcome.setCookies);
}

/**
 * POST /oauth2/backchannel_logout, called by the IdP server to server (OpenID Connect Back-Channel
 * Logout 1.0, 2.5): a form with one logout_token; the answer is 200, or 400 with an OAuth error, never cached.
 */
async function backchannelLogoutRoute(routes: Routes, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== "POST") return methodNotAllowed(res, "POST");
  const form = await readForm(req);
  const token = form?.getAll("logout_token") ?? [];
  if (token.length !== 1 || token[0] === "") return errorJson(res, "logout_request_invalid");
  const outcome = await backchannelLogout(routes.login(), token[0] as string);
  if (outcome.kind === "ok") {
    routes.logger?.info({ sessionsEnded: outcome.sessionsEnded }, "back-channel logout accepted");
    res.writeHead(200, { "cache-control": "no-store" }).end();
    return;
  }
  routes.logger?.warn(
    { detail: outcome.detail },
    outcome.kind === "invalid" ? "back-channel logout refused" : "back-channel logout failed",
  );
  // 503 tells the IdP the token was fine but the logout could not be recorded (Redis did not
  // confirm it, retry included): it should post it again. Retry-After says when; a repeat of
  // a logout Redis did record after all is refused as a replay, with the logout in effect.
  if (outcome.kind === "unavailable")
    return errorJson(res, "logout_unavailable", { "retry-after": BACKCHANNEL_RETRY_AFTER_SECONDS });
  return errorJson(res, "logout_token_invalid");
}

const ROUTE_HANDLERS: ReadonlyMap<string, RouteHandler> = new Map([
  ["/oauth2/callback", callbackRoute],
  ["/oauth2/start", startRoute],
  ["/oauth2/sign_out", signOutRoute],
  ["/oauth2/backchannel_logout", backchannelLogoutRoute],
]);

/** The assertion's public documents, by path (DESIGN.md names /oauth2/jwks.json, OpenID /.well-known/). */
const PUBLISHED: ReadonlyMap<string, keyof AssertionDocuments> = new Map([
  ["/.well-known/jwks.json", "jwks"],
  ["/oauth2/jwks.json", "jwks"],
  ["/.well-known/openid-configuration", "discovery"],
]);

/**
 * A public document, cacheable for 5 minutes: a key is published (second in identity.assertion.keys)
 * at least that long before it signs. 404 while there is none (no route adds an assertion, or the
 * shared key is not read yet).
 */
function publish(res: ServerResponse, method: string | undefined, body: string | null): void {
  if (method !== "GET" && method !== "HEAD") return methodNotAllowed(res, "GET, HEAD");
  if (body === null) return errorJson(res, "not_found");
  res
    .writeHead(200, {
      "content-type": "application/json",
      "cache-control": "public, max-age=300",
      "x-content-type-options": "nosniff",
    })
    .end(method === "HEAD" ? undefined : body);
}

function redirect(res: ServerResponse, location: string, setCookies: readonly string[]): void {
  res
    .writeHead(302, {
      location,
      "cache-control": "no-store",
      "referrer-policy": "no-referrer",
      "set-cookie": [...setCookies],
    })
    .end();
}

/** A registry code's page for a browser; `setCookies` e.g. clear a spent login transaction. */
function page(
  res: ServerResponse,
  code: ErrorCode,
  surface: PageSurface,
  options: ErrorPageOptions & { readonly setCookies?: readonly string[] } = {},
): void {
  const { status, body } = renderErrorPage(code, surface, options);
  const setCookies = options.setCookies ?? [];
  res
    .writeHead(status, { ...PAGE_HEADERS, ...(setCookies.length > 0 ? { "set-cookie": [...setCookies] } : {}) })
    .end(body);
}

function confirmSignOut(res: ServerResponse, rd: string | null): void {
  const hidden = rd === null ? "" : `<input type="hidden" name="rd" value="${escapeHtml(rd.slice(0, 2048))}">`;
  const body = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign out</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body>
<h1>Sign out?</h1>
<form method="post" action="/oauth2/sign_out">${hidden}<button type="submit">Sign out</button></form>
</body></html>
`;
  // With no-referrer, Chromium sends `Origin: null` on the form's POST, which the Origin check
  // refuses; same-origin keeps the page's own origin on its POST and nothing for other sites.
  res.writeHead(200, { ...PAGE_HEADERS, "referrer-policy": "same-origin" }).end(body);
}

/** A registry code's small JSON answer (API clients and the IdP), never cached. */
function errorJson(res: ServerResponse, code: ErrorCode, extra: Record<string, string> = {}): void {
  const { status, body } = renderErrorJson(code);
  res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store", ...extra }).end(body);
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  errorJson(res, "method_not_allowed", { allow });
}

/** A small urlencoded form body, or null when it is too large or of another type. */
function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    req.resume();
    return Promise.resolve(type === "" ? new URLSearchParams() : null);
  }
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_FORM_BYTES) {
        resolve(null);
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(new URLSearchParams(Buffer.concat(chunks).toString("utf8"))));
    req.on("error", () => resolve(null));
  });
}
