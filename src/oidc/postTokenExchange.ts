// One token-exchange call (RFC 8693 §2.1) to a token endpoint: the form it posts, a hard timeout
// over the whole exchange, a capped answer, and the answer judged as a usable access token, an
// IdP's refusal, or an outage. Log-safe details only: never a token, a secret or a whole body.
import { BoundedFetchError, describeFetchFailure, readCapped, redactUrl, type FetchLike } from "./boundedFetch.ts";
import { MAX_TOKEN_RESPONSE_BYTES } from "./createTokenEndpointFetch.ts";

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
export const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";
/** Longer than any access token an upstream header should carry; a larger one is refused. */
export const MAX_EXCHANGED_TOKEN_CHARS = 16 * 1024;

export interface TokenExchangeRequest {
  readonly endpoint: string;
  readonly subjectToken: string;
  readonly audience: readonly string[];
  readonly resource: readonly string[];
  readonly scopes: readonly string[];
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: "client_secret_basic" | "client_secret_post";
  readonly timeoutMs: number;
}

export type TokenExchangeAnswer =
  | { readonly kind: "token"; readonly token: string; readonly expiresAt: number | null }
  | { readonly kind: "refused"; readonly detail: string }
  | { readonly kind: "unavailable"; readonly detail: string };

/** The form body and headers of the exchange request (exported for the tests that check them). */
export function tokenExchangeForm(request: TokenExchangeRequest): { body: URLSearchParams; headers: Headers } {
  const body = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT,
    subject_token: request.subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    requested_token_type: ACCESS_TOKEN_TYPE,
  });
  for (const audience of request.audience) body.append("audience", audience);
  for (const resource of request.resource) body.append("resource", resource);
  if (request.scopes.length > 0) body.set("scope", request.scopes.join(" "));
  const headers = new Headers({ "content-type": "application/x-www-form-urlencoded", accept: "application/json" });
  if (request.authMethod === "client_secret_post") {
    body.set("client_id", request.clientId);
    body.set("client_secret", request.clientSecret);
  } else {
    // RFC 6749 §2.3.1: each part form-urlencoded before the Base64.
    const pair = `${formEncode(request.clientId)}:${formEncode(request.clientSecret)}`;
    headers.set("authorization", `Basic ${Buffer.from(pair, "utf8").toString("base64")}`);
  }
  return { body, headers };
}

/** `now`: epoch seconds when the request is sent (expires_in counts from it). */
export async function postTokenExchange(
  fetchImpl: FetchLike,
  request: TokenExchangeRequest,
  now: number,
): Promise<TokenExchangeAnswer> {
  const where = `POST ${redactUrl(request.endpoint)}`;
  const signal = AbortSignal.timeout(request.timeoutMs);
  const { body, headers } = tokenExchangeForm(request);
  let response: Response;
  let text: string;
  try {
    response = await fetchImpl(request.endpoint, { method: "POST", body, headers, redirect: "manual", signal });
  } catch (err) {
    return { kind: "unavailable", detail: `${where} ${describeFetchFailure(err, signal, request.timeoutMs)}` };
  }
  if (response.status >= 500 || (response.status !== 200 && response.status < 400)) {
    await response.body?.cancel().catch(() => undefined);
    return { kind: "unavailable", detail: `${where} answered HTTP ${response.status}` };
  }
  try {
    text = await readCapped(response, MAX_TOKEN_RESPONSE_BYTES);
  } catch (err) {
    const why = err instanceof BoundedFetchError ? err.message : describeFetchFailure(err, signal, request.timeoutMs);
    return { kind: "unavailable", detail: `${where} ${why}` };
  }
  const json = parseObject(text);
  if (response.status !== 200) return judgeError(where, response.status, json);
  return judgeToken(where, json, now);
}

function judgeError(where: string, status: number, json: Record<string, unknown> | null): TokenExchangeAnswer {
  const error = typeof json?.["error"] === "string" && /^[\x20-\x7E]{1,64}$/.test(json["error"]) ? json["error"] : null;
  const description = printable(json?.["error_description"]);
  const detail = `${where} answered HTTP ${status} ${error ?? "(no OAuth error)"}${description}`;
  // Our own client refused (wrong secret, not allowed to exchange at all) is a configuration
  // fault no caller can fix; so is an answer that is not an OAuth error.
  if (error === null || error === "invalid_client") return { kind: "unavailable", detail };
  return { kind: "refused", detail };
}

function judgeToken(where: string, json: Record<string, unknown> | null, now: number): TokenExchangeAnswer {
  const bad = (why: string): TokenExchangeAnswer => ({
    kind: "unavailable",
    detail: `${where} answered 200 but ${why}`,
  });
  if (json === null) return bad("not a JSON object");
  const token = json["access_token"];
  if (typeof token !== "string" || token === "") return bad("without an access_token");
  if (token.length > MAX_EXCHANGED_TOKEN_CHARS)
    return bad(`with an access_token over ${MAX_EXCHANGED_TOKEN_CHARS} characters`);
  // It becomes a header value: visible ASCII only, so it can never split or smuggle a header.
  if (!/^[\x21-\x7E]+$/.test(token)) return bad("with an access_token that is not visible ASCII");
  const issued = json["issued_token_type"];
  if (issued !== undefined && issued !== ACCESS_TOKEN_TYPE)
    return bad("with an issued_token_type other than access_token");
  const type = json["token_type"];
  if (typeof type !== "string" || type.toLowerCase() !== "bearer") return bad("with a token_type other than Bearer");
  const expiresIn = json["expires_in"];
  const expiresAt =
    typeof expiresIn === "number" && Number.isFinite(expiresIn) && expiresIn > 0
      ? now + Math.floor(expiresIn)
      : jwtExpiry(token);
  return { kind: "token", token, expiresAt };
}

/** A JWT's `exp`, read without verifying (only to know how long to reuse it); null when not a JWT. */
function jwtExpiry(token: string): number | null {
  const parts = token.split(".");
  if (parts.length !== 3) return null;
  const payload = parseObject(Buffer.from(parts[1] ?? "", "base64url").toString("utf8"));
  const exp = payload?.["exp"];
  return typeof exp === "number" && Number.isFinite(exp) ? exp : null;
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

/** The IdP's description for the log: short, printable, and with anything token-shaped cut out. */
function printable(value: unknown): string {
  if (typeof value !== "string") return "";
  const text = value
    .replace(/[^\x20-\x7E]/g, "?")
    .replace(/[A-Za-z0-9_.~+/=-]{32,}/g, "(token)")
    .slice(0, 160);
  return text === "" ? "" : ` (${JSON.stringify(text)})`;
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, "+");
}
