// The request headers that change what an upstream serves (the host or prefix it builds links and
// redirects from, the URL or method it routes by), which Portcullis removes from every request it
// lets through unless a route forwards them: a client's to send only where a route says so. Envoy
// configs we ship strip them as well; this list keeps a sidecar behind someone else's Envoy safe.

export const DEFAULT_REMOVED_REQUEST_HEADERS: readonly string[] = Object.freeze([
  "x-forwarded-host",
  "x-forwarded-prefix",
  "forwarded",
  "x-original-url",
  "x-rewrite-url",
  "x-http-method-override",
  "x-method-override",
  "x-http-method",
]);
