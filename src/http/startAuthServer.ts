// The auth HTTP listener that Envoy routes /oauth2/* to (with ext_authz disabled on that route):
// `/oauth2/callback` completes a login, `/oauth2/start` begins one on request, `/oauth2/sign_out`
// asks for confirmation (GET) and signs out (POST from a trusted origin), `/oauth2/backchannel_logout`
// takes the IdP's logout tokens. Everything else, and
// everything when browser login is not configured, is a small JSON 404. Every error answer is a
// registry code (src/errors/ErrorCode.ts): its status and public text come from there.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
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

export interface AuthServer {
  readonly port: number;
  close(): Promise<void>;
}

export interface AuthServerOptions {
  readonly host: string;
  readonly port: number;
  /** The current browser login (a config reload may replace it); absent when browser login is off. */
  readonly login?: (() => BrowserLogin) | null;
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

export async function startAuthServer(options: AuthServerOptions): Promise<AuthServer> {
  // Asked for at each step: a config reload between two awaits hands the next step the new sessions.
  const login = options.login ?? null;
  const logger = options.logger;
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger?.error({ err: error instanceof Error ? error.name : "unknown" }, "auth endpoint failed");
      if (!res.headersSent) page(res, "internal_error", "auth_listener");
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://auth.invalid");
    if (login === null) return errorJson(res, "not_found");
    const cookies = () => parseSessionCookies(req.headers.cookie);
    switch (url.pathname) {
      case "/oauth2/callback": {
        if (req.method !== "GET") return methodNotAllowed(res, "GET");
        const outcome = await completeLogin(login(), url.searchParams, cookies());
        if (outcome.kind === "redirect") {
          logger?.info({}, "login completed");
          return redirect(res, outcome.location, outcome.setCookies);
        }
        const { reason, status, detail, note, retry, setCookies } = outcome;
        logger?.info({ reason, status, detail }, "login failed");
        return page(res, reason, "callback", {
          note,
          setCookies,
          ...(retry === null ? {} : { link: { href: retry, text: "Try again" } }),
        });
      }
      case "/oauth2/start": {
        if (req.method !== "GET") return methodNotAllowed(res, "GET");
        const started = await startLoginAt(login(), url.searchParams.get("rd"), cookies());
        if (started.kind === "redirect") return redirect(res, started.location, started.setCookies);
        return page(res, started.kind === "refused" ? started.reason : "idp_unavailable", "start");
      }
      case "/oauth2/sign_out": {
        if (req.method === "GET" || req.method === "HEAD") return confirmSignOut(res, url.searchParams.get("rd"));
        if (req.method !== "POST") return methodNotAllowed(res, "GET, POST");
        // No logout CSRF: a sign-out must come from a page of ours (browsers send Origin on POST).
        const origin = req.headers.origin;
        if (origin === undefined || !login().trustedOrigins.has(origin)) {
          return page(res, "signout_origin_untrusted", "sign_out");
        }
        const form = await readForm(req);
        if (form === null) return page(res, "signout_form_unreadable", "sign_out");
        const outcome = await signOut(login(), cookies(), form.get("rd"));
        if (outcome.kind === "refused") return page(res, outcome.reason, "sign_out");
        if (outcome.kind === "unavailable") {
          // Never a false "signed out": the cookie is kept so the user can retry, and the retry
          // (back to the confirmation page, rd kept) finishes the sign-out once the store answers.
          logger?.warn({ reason: outcome.reason, detail: outcome.detail }, "sign-out could not be completed");
          const rd = form.get("rd");
          const retry =
            rd === null
              ? "/oauth2/sign_out"
              : `/oauth2/sign_out?${new URLSearchParams({ rd: rd.slice(0, 2048) }).toString()}`;
          return page(res, outcome.reason, "sign_out", { link: { href: retry, text: "Try again" } });
        }
        logger?.info({}, "signed out");
        return redirect(res, outcome.location, outcome.setCookies);
      }
      case "/oauth2/backchannel_logout": {
        if (req.method !== "POST") return methodNotAllowed(res, "POST");
        // Called by the IdP server to server (OpenID Connect Back-Channel Logout 1.0, 2.5): a form
        // with one logout_token; the answer is 200, or 400 with an OAuth error, never cached.
        const form = await readForm(req);
        const token = form?.getAll("logout_token") ?? [];
        if (token.length !== 1 || token[0] === "") return errorJson(res, "logout_request_invalid");
        const outcome = await backchannelLogout(login(), token[0] as string);
        if (outcome.kind === "ok") {
          logger?.info({ sessionsEnded: outcome.sessionsEnded }, "back-channel logout accepted");
          res.writeHead(200, { "cache-control": "no-store" }).end();
          return;
        }
        logger?.warn(
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
      default:
        return errorJson(res, "not_found");
    }
  }

  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
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
