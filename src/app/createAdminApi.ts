// The admin API on the admin listener (docs/sessions-admin.md): list a user's sessions, end one, end
// all of a user's sessions on every replica. Off unless admin.api.enabled (every /admin/ path is then
// a 404 as before); every request needs the admin token, checked before the route is even named.
// Each request is counted (portcullis_admin_actions_total) and logged once at info as an audit line:
// the action, "admin token" as who, the sub or handle, the result; never the token.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Counter } from "prom-client";
import { describeError } from "../errors/describeError.ts";
import { ERROR_CODES, type CodeOn } from "../errors/ErrorCode.ts";
import type { AdminAction, AdminResult } from "../observability/adminActionsCounter.ts";
import type { SessionAdmin } from "../session/createSessionAdmin.ts";
import { SessionStoreUnavailableError } from "../session/SessionStore.ts";
import { hasAdminToken, readJsonObject } from "./readAdminRequest.ts";

export interface AdminApiSettings {
  readonly enabled: boolean;
  readonly token: string | null;
  /** The configured providers: what `provider` may name, and every one when it is left out. */
  readonly providers: readonly string[];
  /** Null where an ended session could not reach the replicas that serve it (a supervisor without Redis). */
  readonly sessions: SessionAdmin | null;
  /** Whether what is ended here is ended on every replica (Redis), or on this process only. */
  readonly everyReplica: boolean;
}

export interface AdminApiUnits {
  /** Read per request, so a reload can turn the API on or off and rotate the token. */
  settings(): AdminApiSettings;
  readonly counter: Counter<"action" | "result">;
  readonly logger: { info(obj: object, msg: string): void; warn(obj: object, msg: string): void };
}

export interface AdminApi {
  /** Takes a request for a path under /admin/; false when the API is off (the listener answers 404). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

type AdminCode = CodeOn<"admin_api">;

/** What one request comes to: its status and JSON, its metric result and the audit line's fields. */
interface Answer {
  readonly status: number;
  readonly body: object;
  readonly result: AdminResult;
  readonly audit: object;
  readonly headers?: Readonly<Record<string, string>>;
}

type Route =
  | { readonly action: Exclude<AdminAction, "unknown">; readonly handle?: string }
  | { readonly action: "unknown"; readonly code: "not_found" | "method_not_allowed"; readonly allow?: string };

const MAX_SUB_LENGTH = 1024;

export function createAdminApi(units: AdminApiUnits): AdminApi {
  return {
    handle(req, res) {
      const settings = units.settings();
      if (!settings.enabled || settings.token === null) return false;
      // A request line no URL parser takes is no route of ours (never a throw out of the listener).
      const path = URL.parse(req.url ?? "/", "http://admin")?.pathname ?? "";
      const route = routeOf(req.method ?? "", path);
      void answerRequest(req, settings, settings.token, route)
        .then((answer) => {
          units.counter.inc({ action: route.action, result: answer.result });
          const from = req.socket.remoteAddress ?? "unknown";
          const line = { admin: route.action, by: "admin token", from, result: answer.result, ...answer.audit };
          if (answer.result === "unauthorized") units.logger.warn(line, "admin request refused");
          else units.logger.info(line, "admin action");
          res
            .writeHead(answer.status, {
              "content-type": "application/json",
              "cache-control": "no-store",
              ...answer.headers,
            })
            .end(`${JSON.stringify(answer.body)}\n`);
        })
        .catch(() => res.destroy());
      return true;
    },
  };
}

function routeOf(method: string, path: string): Route {
  if (path === "/admin/sessions")
    return method === "GET"
      ? { action: "list_sessions" }
      : { action: "unknown", code: "method_not_allowed", allow: "GET" };
  const one = /^\/admin\/sessions\/([^/]+)$/.exec(path);
  if (one !== null)
    return method === "DELETE"
      ? { action: "end_session", handle: one[1] as string }
      : { action: "unknown", code: "method_not_allowed", allow: "DELETE" };
  if (path === "/admin/users/revoke")
    return method === "POST"
      ? { action: "end_user_sessions" }
      : { action: "unknown", code: "method_not_allowed", allow: "POST" };
  return { action: "unknown", code: "not_found" };
}

/** Never rejects: a fault is answered (and logged by its name) like any other outcome. */
async function answerRequest(
  req: IncomingMessage,
  settings: AdminApiSettings,
  token: string,
  route: Route,
): Promise<Answer> {
  // The token first, so an unauthenticated caller learns nothing of the routes.
  if (!hasAdminToken(req, token))
    return { ...error("admin_token_invalid", "unauthorized"), headers: { "www-authenticate": 'Bearer realm="admin"' } };
  if (route.action === "unknown")
    return {
      ...error(route.code, route.code === "not_found" ? "not_found" : "invalid"),
      ...(route.allow === undefined ? {} : { headers: { allow: route.allow } }),
    };
  if (settings.sessions === null) return error("admin_needs_redis", "conflict");
  try {
    if (route.action === "list_sessions") return await listSessions(req, settings, settings.sessions);
    if (route.action === "end_session") return await endSession(route.handle ?? "", settings.sessions);
    return await endUserSessions(req, settings, settings.sessions);
  } catch (fault) {
    if (fault instanceof SessionStoreUnavailableError)
      return error("session_store_unavailable", "unavailable", "Redis did not answer in time; retry");
    return { ...error("internal_error", "error"), audit: { fault: describeError(fault) } };
  }
}

async function listSessions(req: IncomingMessage, settings: AdminApiSettings, sessions: SessionAdmin) {
  if (!sessions.listable) return error("sessions_not_listable", "conflict", "session.store is cookie");
  const query = URL.parse(req.url ?? "/", "http://admin")?.searchParams ?? new URLSearchParams();
  const who = subjectOf(query.get("sub"), query.get("provider") ?? undefined, settings.providers);
  if ("invalid" in who) return error("admin_request_invalid", "invalid", who.invalid);
  const listed = await sessions.list(who.sub, who.providers);
  return ok({ sub: who.sub, sessions: listed }, { sub: who.sub, providers: who.providers, sessions: listed.length });
}

async function endSession(encoded: string, sessions: SessionAdmin): Promise<Answer> {
  if (!sessions.listable) return error("sessions_not_listable", "conflict", "session.store is cookie");
  let handle: string;
  try {
    handle = decodeURIComponent(encoded);
  } catch {
    return error("admin_request_invalid", "invalid", "the handle is not one GET /admin/sessions gives");
  }
  const outcome = await sessions.endSession(handle);
  if (outcome === "invalid")
    return error("admin_request_invalid", "invalid", "the handle is not one GET /admin/sessions gives");
  if (outcome === "not_found")
    return { ...error("session_not_found", "not_found"), audit: { code: "session_not_found", handle } };
  return ok({ handle, ended: true }, { handle });
}

async function endUserSessions(req: IncomingMessage, settings: AdminApiSettings, sessions: SessionAdmin) {
  const body = await readJsonObject(req);
  if ("error" in body) return error("admin_request_invalid", "invalid", body.error);
  const { sub, provider, ...rest } = body.value;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined)
    return error("admin_request_invalid", "invalid", `unknown field ${JSON.stringify(unknown.slice(0, 64))}`);
  if (provider !== undefined && typeof provider !== "string")
    return error("admin_request_invalid", "invalid", "provider must be a string");
  const who = subjectOf(typeof sub === "string" ? sub : null, provider, settings.providers);
  if ("invalid" in who) return error("admin_request_invalid", "invalid", who.invalid);
  const ended = await sessions.endSubject(who.sub, who.providers);
  const answer = {
    sub: who.sub,
    providers: who.providers,
    revokedAt: ended.revokedAt,
    sessionsDeleted: ended.deleted,
    everyReplica: settings.everyReplica,
  };
  return ok(answer, { sub: who.sub, providers: who.providers, sessionsDeleted: ended.deleted });
}

/** The user named: a sub, and the configured provider named or every one. */
function subjectOf(
  sub: string | null,
  provider: string | undefined,
  providers: readonly string[],
): { readonly sub: string; readonly providers: readonly string[] } | { readonly invalid: string } {
  if (sub === null || sub === "") return { invalid: "sub is required" };
  if (sub.length > MAX_SUB_LENGTH || /\p{Cc}/u.test(sub))
    return { invalid: `sub must be at most ${MAX_SUB_LENGTH} characters, without control characters` };
  if (provider === undefined) return { sub, providers };
  if (!providers.includes(provider))
    return { invalid: `provider ${JSON.stringify(provider.slice(0, 64))} is not configured` };
  return { sub, providers: [provider] };
}

function ok(body: object, audit: object): Answer {
  return { status: 200, body, result: "ok", audit };
}

function error(code: AdminCode, result: AdminResult, detail?: string): Answer {
  const { status, description } = ERROR_CODES[code];
  const body = { error: code, error_description: description, ...(detail === undefined ? {} : { detail }) };
  return { status, body, result, audit: { code } };
}
