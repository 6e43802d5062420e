// One RFC 7662 introspection request: POSTs the token with client authentication (basic or post) and
// returns the endpoint's JSON object. Every problem — unreachable, slow, not JSON, no boolean
// `active` — is a VerifierFault with a log-safe message (never the token, never the body).
import { BoundedFetchError, boundedFetch, redactUrl, type FetchLike } from "./boundedFetch.ts";
import { VerifierFault } from "./VerifierFault.ts";

export type IntrospectionAuthMethod = "client_secret_basic" | "client_secret_post";

/** What a request needs, prepared once per provider (the Basic header is built once, not per call). */
export interface IntrospectionEndpoint {
  readonly provider: string;
  readonly endpoint: URL;
  /** The endpoint with its query and credentials redacted, for messages. */
  readonly where: string;
  readonly authMethod: IntrospectionAuthMethod;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The Authorization header value for client_secret_basic; undefined for client_secret_post. */
  readonly authorization: string | undefined;
  readonly timeoutMs: number;
  readonly fetch: FetchLike;
}

export interface IntrospectionEndpointOptions {
  readonly providerName: string;
  /** From discovery (`introspection_endpoint`) or configured. https unless allowInsecureHttp. */
  readonly endpoint: URL;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authMethod: IntrospectionAuthMethod;
  readonly timeoutMs: number;
  readonly fetch?: FetchLike;
}

export function introspectionEndpointOf(options: IntrospectionEndpointOptions): IntrospectionEndpoint {
  return {
    provider: options.providerName,
    endpoint: options.endpoint,
    where: redactUrl(options.endpoint),
    authMethod: options.authMethod,
    clientId: options.clientId,
    clientSecret: options.clientSecret,
    authorization:
      options.authMethod === "client_secret_basic"
        ? `Basic ${Buffer.from(`${formEncode(options.clientId)}:${formEncode(options.clientSecret)}`).toString("base64")}`
        : undefined,
    timeoutMs: options.timeoutMs,
    fetch: options.fetch ?? fetch,
  };
}

/** The endpoint's JSON object, or a VerifierFault with a log-safe message. */
export async function postIntrospection(
  target: IntrospectionEndpoint,
  token: string,
): Promise<Record<string, unknown>> {
  const { provider, where } = target;
  const body = new URLSearchParams({ token, token_type_hint: "access_token" });
  if (target.authMethod === "client_secret_post") {
    body.set("client_id", target.clientId);
    body.set("client_secret", target.clientSecret);
  }
  const headers = new Headers({ "content-type": "application/x-www-form-urlencoded" });
  if (target.authorization !== undefined) headers.set("authorization", target.authorization);
  // boundedFetch brings the timeout, no redirects and the body cap; it issues GETs, so the
  // method and form body are put on here.
  const post: FetchLike = (url, init) => target.fetch(url, { ...init, method: "POST", body });
  let text: string;
  try {
    text = await boundedFetch(post, target.endpoint, {
      signal: AbortSignal.timeout(target.timeoutMs),
      timeoutMs: target.timeoutMs,
      accept: "application/json",
      headers,
    });
  } catch (err) {
    const message = err instanceof BoundedFetchError ? err.message.replace(/^GET /, "POST ") : `POST ${where} failed`;
    throw new VerifierFault(`token introspection for provider "${provider}": ${message}`, {
      cause: err,
      unavailable: true,
    });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // No cause: JSON.parse quotes the body, which may echo the token.
    throw new VerifierFault(
      `token introspection for provider "${provider}": POST ${where} answered a body that is not JSON`,
    );
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new VerifierFault(
      `token introspection for provider "${provider}": POST ${where} answered JSON that is not an object`,
    );
  }
  const answer = doc as Record<string, unknown>;
  if (typeof answer["active"] !== "boolean") {
    throw new VerifierFault(
      `token introspection for provider "${provider}": POST ${where} answered without a boolean "active"`,
    );
  }
  return answer;
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before they are joined and base64'd. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
