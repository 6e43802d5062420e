// One outbound GET to an IdP with a hard timeout, no redirects and a capped body, returning the
// body text. Failures become short, log-safe messages (no query strings, no bodies, no headers).
// The process's own fetch is replaced by node:http(s) (requestOverNodeHttp) with the same bounds.
import { requestOverNodeHttp } from "./requestOverNodeHttp.ts";

export type FetchLike = typeof fetch;

/** Discovery documents and key sets are small; anything larger is refused rather than buffered. */
export const MAX_IDP_RESPONSE_BYTES = 1024 * 1024;

export class BoundedFetchError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BoundedFetchError";
  }
}

/** origin + path only: query strings and userinfo can carry secrets. */
export function redactUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return "(invalid URL)";
  }
}

export async function boundedFetch(
  fetchImpl: FetchLike,
  url: string | URL,
  init: { signal: AbortSignal; timeoutMs: number; accept: string; headers?: Headers },
): Promise<string> {
  const where = redactUrl(url);
  if (fetchImpl === globalThis.fetch && !usesEnvironmentProxy()) return getOverNodeHttp(url, where, init);
  const headers = new Headers(init.headers);
  if (!headers.has("accept")) headers.set("accept", init.accept);
  let response: Response;
  try {
    response = await fetchImpl(url, { method: "GET", redirect: "manual", signal: init.signal, headers });
  } catch (err) {
    throw new BoundedFetchError(`GET ${where} ${describeFetchFailure(err, init.signal, init.timeoutMs)}`, {
      cause: err,
    });
  }
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new BoundedFetchError(`GET ${where} answered HTTP ${response.status}`);
  }
  try {
    return await readCapped(response, MAX_IDP_RESPONSE_BYTES);
  } catch (err) {
    if (err instanceof BoundedFetchError) throw new BoundedFetchError(`GET ${where} ${err.message}`);
    throw new BoundedFetchError(`GET ${where} ${describeFetchFailure(err, init.signal, init.timeoutMs)}`, {
      cause: err,
    });
  }
}

/**
 * boundedFetch's GET without undici: same timeout (the signal spans connect to last byte), no
 * redirects, the same body cap, UTF-8 check, messages and TLS verification. A URL with
 * credentials is refused, as fetch refuses it.
 */
async function getOverNodeHttp(
  url: string | URL,
  where: string,
  init: { signal: AbortSignal; timeoutMs: number; accept: string; headers?: Headers },
): Promise<string> {
  const target = new URL(url);
  if (target.username !== "" || target.password !== "" || !/^https?:$/.test(target.protocol))
    throw new BoundedFetchError(`GET ${where} failed (network error)`);
  const headers: Record<string, string> = { accept: init.accept, "user-agent": "portcullis" };
  init.headers?.forEach((value, name) => {
    headers[name] = value;
  });
  let answer;
  try {
    answer = await requestOverNodeHttp(target, { signal: init.signal, headers, maxBytes: MAX_IDP_RESPONSE_BYTES });
  } catch (err) {
    throw new BoundedFetchError(`GET ${where} ${describeFetchFailure(err, init.signal, init.timeoutMs)}`, {
      cause: err,
    });
  }
  if (answer.kind === "status") throw new BoundedFetchError(`GET ${where} answered HTTP ${answer.status}`);
  if (answer.kind === "too-large")
    throw new BoundedFetchError(`GET ${where} response body larger than ${MAX_IDP_RESPONSE_BYTES} bytes`);
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(answer.body);
  } catch {
    throw new BoundedFetchError(`GET ${where} returned a body that is not UTF-8`);
  }
}

/**
 * Node's fetch goes through HTTP_PROXY/HTTPS_PROXY when NODE_USE_ENV_PROXY or --use-env-proxy
 * asks for it: then the GETs stay on fetch, so a deployment behind a proxy keeps reaching its IdP.
 */
function usesEnvironmentProxy(): boolean {
  const flag = process.env["NODE_USE_ENV_PROXY"];
  if (flag !== undefined && flag !== "" && flag !== "0") return true;
  return (
    process.execArgv.includes("--use-env-proxy") || (process.env["NODE_OPTIONS"] ?? "").includes("--use-env-proxy")
  );
}

/** The body as UTF-8 text, refused (BoundedFetchError) beyond maxBytes or when not UTF-8. */
export async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new BoundedFetchError(`response body larger than ${maxBytes} bytes`);
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new BoundedFetchError(`response body larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new BoundedFetchError("returned a body that is not UTF-8");
  }
}

/** Why a fetch failed, log-safe: timeout, abort, or the connection error code. */
export function describeFetchFailure(err: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    const timedOut = reason instanceof Error && reason.name === "TimeoutError";
    return timedOut ? `timed out after ${timeoutMs} ms` : "was aborted";
  }
  // undici reports connection problems as TypeError("fetch failed") with a system error as cause;
  // node:http rejects with the system error itself.
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === "string") return `failed to connect (${cause.code})`;
  const own = (err as { code?: unknown } | null)?.code;
  if (typeof own === "string" && /^[A-Z][A-Z0-9_]{1,63}$/.test(own)) return `failed to connect (${own})`;
  return "failed (network error)";
}
