// Tells a person's browser navigating to a page (which may be sent to log in) from API calls, XHR
// and gRPC (which get a plain 401 and never a redirect they could not follow).

export function isBrowserNavigation(method: string, headers: ReadonlyMap<string, string>): boolean {
  if (method !== "GET" && method !== "HEAD") return false;
  const contentType = headers.get("content-type");
  if (contentType !== undefined && contentType.toLowerCase().startsWith("application/grpc")) return false;
  if (headers.get("x-requested-with")?.toLowerCase() === "xmlhttprequest") return false;
  // Fetch metadata: a fetch()/XHR says cors/same-origin/no-cors; only a navigation may be redirected.
  const mode = headers.get("sec-fetch-mode");
  if (mode !== undefined && mode !== "navigate") return false;
  const accept = headers.get("accept");
  return accept !== undefined && accept.toLowerCase().includes("text/html");
}
