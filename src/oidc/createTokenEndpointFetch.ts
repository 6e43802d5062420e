// The fetch openid-client uses for one token-endpoint call: a hard timeout over the whole exchange
// (connect, headers and body), a capped body, and IdP unavailability (network error, timeout, 5xx)
// turned into a LoginError here, where the cause is still known. It also keeps the 200 answer's
// JSON so the login client can verify the ID token itself, before trusting anything else in it.
import type { CustomFetch } from "openid-client";
import { redactUrl } from "./boundedFetch.ts";
import { LoginError } from "./LoginError.ts";

/** Token responses are a few KB; a larger answer is a misbehaving IdP, not something to buffer. */
export const MAX_TOKEN_RESPONSE_BYTES = 256 * 1024;

export interface TokenEndpointCall {
  readonly fetch: CustomFetch;
  readonly timeoutMs: number;
  /** Set when the call failed for a reason openid-client would only report as a generic error. */
  failure: LoginError | undefined;
  /** The JSON object of a 200 answer, once one was received. */
  body: Record<string, unknown> | undefined;
}

export function createTokenEndpointFetch(fetchImpl: typeof fetch, timeoutMs: number): TokenEndpointCall {
  const call: TokenEndpointCall = {
    timeoutMs,
    failure: undefined,
    body: undefined,
    fetch: async (url, init) => {
      const where = redactUrl(url);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      const fail = (error: LoginError): never => {
        call.failure = error;
        throw error;
      };
      let response: Response;
      try {
        response = await fetchImpl(url, { ...init, body: init.body as RequestInit["body"], signal });
      } catch (err) {
        return fail(new LoginError("token_endpoint_unavailable", `POST ${where} ${describeFailure(err, signal, timeoutMs)}`));
      }
      if (response.status >= 500) {
        await response.body?.cancel().catch(() => undefined);
        return fail(new LoginError("token_endpoint_unavailable", `POST ${where} answered HTTP ${response.status}`));
      }
      let text: string;
      try {
        text = await readCappedText(response, MAX_TOKEN_RESPONSE_BYTES);
      } catch (err) {
        if (err instanceof TooLarge) {
          return fail(new LoginError("token_endpoint_error", `POST ${where} answered with more than ${MAX_TOKEN_RESPONSE_BYTES} bytes`));
        }
        return fail(new LoginError("token_endpoint_unavailable", `POST ${where} ${describeFailure(err, signal, timeoutMs)} while sending its answer`));
      }
      if (response.status === 200) {
        try {
          const parsed: unknown = JSON.parse(text);
          if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) call.body = parsed as Record<string, unknown>;
        } catch {
          // Left to openid-client, which reports a non-JSON answer in its own way.
        }
      }
      // The body was decoded already: drop the headers that described the wire form.
      const headers = new Headers(response.headers);
      for (const name of ["content-length", "content-encoding", "transfer-encoding"]) headers.delete(name);
      return new Response(text, { status: response.status, statusText: response.statusText, headers });
    },
  };
  return call;
}

class TooLarge extends Error {}

async function readCappedText(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get("content-length"));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw new TooLarge();
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
      throw new TooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function describeFailure(err: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    return reason instanceof Error && reason.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : "was aborted";
  }
  // undici reports connection problems as TypeError("fetch failed") with a system error as cause.
  const cause = err instanceof Error ? (err.cause as { code?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === "string") return `failed to connect (${cause.code})`;
  return "failed (network error)";
}
