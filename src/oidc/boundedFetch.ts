// One outbound GET to an IdP with a hard timeout, no redirects and a capped body, returning the
// body text. Failures become short, log-safe messages (no query strings, no bodies, no headers).

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
  // undici reports connection problems as TypeError("fetch failed") with a system error as cause.
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === "string") return `failed to connect (${cause.code})`;
  return "failed (network error)";
}
