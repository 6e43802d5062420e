// The fetch openid-client uses for one token-endpoint call: a hard timeout over the whole exchange
// (connect, headers and body), a capped body, and IdP unavailability (network error, timeout, 5xx)
// turned into a LoginError here, where the cause is still known. It also keeps the 200 answer's
// JSON so the login client can verify the ID token itself, before trusting anything else in it.
import type { CustomFetch } from "openid-client";
import { BoundedFetchError, describeFetchFailure, readCapped, redactUrl } from "./boundedFetch.ts";
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
        return fail(
          new LoginError("token_endpoint_unavailable", `POST ${where} ${describeFetchFailure(err, signal, timeoutMs)}`),
        );
      }
      if (response.status >= 500) {
        await response.body?.cancel().catch(() => undefined);
        return fail(new LoginError("token_endpoint_unavailable", `POST ${where} answered HTTP ${response.status}`));
      }
      let text: string;
      try {
        text = await readCapped(response, MAX_TOKEN_RESPONSE_BYTES);
      } catch (err) {
        // Too large or not UTF-8: the IdP answered, but with something no token response is.
        if (err instanceof BoundedFetchError) {
          return fail(
            new LoginError(
              "token_endpoint_error",
              `POST ${where} answered a body that is not a token response (${err.message})`,
            ),
          );
        }
        return fail(
          new LoginError(
            "token_endpoint_unavailable",
            `POST ${where} ${describeFetchFailure(err, signal, timeoutMs)} while sending its answer`,
          ),
        );
      }
      if (response.status === 200) {
        try {
          const parsed: unknown = JSON.parse(text);
          if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed))
            call.body = parsed as Record<string, unknown>;
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
