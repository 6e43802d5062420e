// The client side of the session admin API (docs/sessions-admin.md), for `portcullis sessions`:
// one request to an admin listener with the admin token, with a timeout, and its answer or a
// one-line reason (the API's code, description and detail; never the token). A redirect is never
// followed: the admin API gives none, and another server's 200 must not read as a revocation done.

export type SessionsRequest =
  | { readonly kind: "list"; readonly sub: string; readonly provider: string | null }
  | { readonly kind: "end_session"; readonly handle: string }
  | { readonly kind: "end_user"; readonly sub: string; readonly provider: string | null };

const TIMEOUT_MS = 10_000;

export async function callSessionsAdmin(
  admin: URL,
  token: string,
  request: SessionsRequest,
): Promise<{ readonly ok: true; readonly body: unknown } | { readonly ok: false; readonly message: string }> {
  const provider = request.kind !== "end_session" && request.provider !== null ? { provider: request.provider } : {};
  let url = new URL("/admin/users/revoke", admin);
  if (request.kind === "list") {
    url = new URL("/admin/sessions", admin);
    url.searchParams.set("sub", request.sub);
    if (request.provider !== null) url.searchParams.set("provider", request.provider);
  } else if (request.kind === "end_session")
    url = new URL(`/admin/sessions/${encodeURIComponent(request.handle)}`, admin);
  const json = request.kind === "end_user";
  let res: Response;
  try {
    res = await fetch(url, {
      method: request.kind === "list" ? "GET" : request.kind === "end_session" ? "DELETE" : "POST",
      headers: { authorization: `Bearer ${token}`, ...(json ? { "content-type": "application/json" } : {}) },
      ...(json ? { body: JSON.stringify({ sub: request.sub, ...provider }) } : {}),
      signal: AbortSignal.timeout(TIMEOUT_MS),
      // Followed, a 307 would send the token to another path of that host (fetch drops it only
      // across origins) and its target's answer would be taken for the admin API's.
      redirect: "manual",
    });
  } catch (error) {
    const why = error instanceof Error && error.name === "TimeoutError" ? "no answer in 10 s" : "cannot connect";
    return { ok: false, message: `${admin.origin}: ${why}` };
  }
  if (res.status >= 300 && res.status < 400)
    return {
      ok: false,
      message: `${res.status} redirect from ${admin.origin}, not followed: give --admin the admin listener itself`,
    };
  let body: unknown;
  try {
    body = JSON.parse(await res.text());
  } catch {
    return { ok: false, message: `${res.status} from ${admin.origin}, not the admin API` };
  }
  if (res.ok) return { ok: true, body };
  const e = body as { error?: string; error_description?: string; detail?: string };
  return {
    ok: false,
    message: `${res.status} ${e.error}: ${e.error_description}${e.detail === undefined ? "" : ` (${e.detail})`}`,
  };
}
