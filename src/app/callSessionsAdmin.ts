// The client side of the session admin API (docs/sessions-admin.md), for `portcullis sessions`:
// one request to an admin listener with the admin token, with a timeout, and its answer or a
// one-line reason (the API's code, description and detail; never the token).

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
    });
  } catch (error) {
    const why = error instanceof Error && error.name === "TimeoutError" ? "no answer in 10 s" : "cannot connect";
    return { ok: false, message: `${admin.origin}: ${why}` };
  }
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
