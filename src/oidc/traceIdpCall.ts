// The trace span of one call to an IdP (discovery, JWKS, introspection, code exchange, refresh):
// a child of the Check span when a check waits for it. Attributes name the provider and the
// endpoint without its query; never a token, code, secret or response body.
import { withSpan, type SpanNotes } from "../observability/withSpan.ts";
import { redactUrl } from "./boundedFetch.ts";

export type IdpCall = "discovery" | "jwks_fetch" | "introspection" | "code_exchange" | "refresh";

export function traceIdpCall<T>(
  call: IdpCall,
  provider: string,
  method: "GET" | "POST",
  url: string | URL,
  run: (notes: SpanNotes) => Promise<T>,
): Promise<T> {
  return withSpan(
    `oidc.${call}`,
    { "portcullis.provider": provider, "http.request.method": method, "url.full": redactUrl(url) },
    run,
  );
}
