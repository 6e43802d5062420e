// What the gate answers: a value, never an exception. Adapters turn it into their wire format.
import type { DenialCode } from "../errors/ErrorCode.ts";

/** A shadow rule's would-be denial of a request another rule decided (`routes[].mode: shadow`). */
export interface ShadowDenial {
  readonly route: string;
  readonly code: DenialCode;
}

export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>;

/**
 * The CheckResponse's dynamic_metadata: `fields` (string values, sanitised and bounded) under the
 * key `namespace` of Envoy's ext_authz metadata, for rate limits and access logs (`identity.metadata`).
 */
export interface DynamicMetadata {
  readonly namespace: string;
  readonly fields: HeaderList;
}

export interface Allow {
  readonly kind: "allow";
  /** Name of the matched route (a bounded metric label). */
  readonly route: string;
  /** public: no credential needed; anonymous: an optional route without one; authenticated: verified. */
  readonly reason: "public" | "anonymous" | "authenticated";
  /** Headers to set on the upstream request (overwriting). */
  readonly setHeaders: HeaderList;
  /** Header names to strip from the upstream request: every header Portcullis owns. */
  readonly removeHeaders: readonly string[];
  /** Query parameters to strip from the upstream request's path (a route's query token source). */
  readonly removeQueryParameters?: readonly string[];
  /** The provider that vouched for the caller, when one did (a bounded metric label). */
  readonly provider?: string;
  /** Headers for the response to the client, e.g. the Set-Cookie of a refreshed session. */
  readonly responseHeaders?: HeaderList;
  /** How the caller was identified: a bearer token, a browser session or a client certificate alone (logs). */
  readonly credential?: "bearer" | "session" | "certificate" | "api_key";
  /** Who was let through, for the audit log: a person's `sub` or a machine's client id. */
  readonly caller?: { readonly kind: "user" | "client"; readonly id: string };
  /** Epoch ms from which a kept answer is made again: its signed identity assertion renews then. */
  readonly renewAt?: number;
  /** Shadow rules met before the deciding one that would have denied the request (metric and log). */
  readonly shadowDenials?: readonly ShadowDenial[];
  /** Who and where, for Envoy's later filters and access log (CheckResponse.dynamic_metadata). */
  readonly metadata?: DynamicMetadata;
}

export interface Deny {
  readonly kind: "deny";
  readonly route: string | null;
  readonly code: DenialCode;
  readonly status: number;
  /** Headers on the response to the client (e.g. WWW-Authenticate, content-type). */
  readonly headers: HeaderList;
  /** Small JSON body; never a stack trace or library text. */
  readonly body: string;
  readonly provider?: string;
  /** Private detail for the log line; never sent to the client. */
  readonly detail?: string;
  /** As on Allow: shadow rules that would have denied it too (counted whatever the decision). */
  readonly shadowDenials?: readonly ShadowDenial[];
  /** Where and why, and who once the caller was verified, for Envoy's access log (dynamic_metadata). */
  readonly metadata?: DynamicMetadata;
}

export type Decision = Allow | Deny;
