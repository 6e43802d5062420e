// Cross-field rules of a route's `responseHeaders` and `denial`: no header that would set state in
// the client or change how it reads the response (Set-Cookie, framing, redirects, challenges), and
// denial bodies within their size, the JSON one well-formed.

import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import { keyPath } from "./keyPath.ts";
import { MAX_DENIAL_HTML_BYTES, MAX_DENIAL_JSON_BYTES } from "./routeAnswerSchema.ts";

/** Response headers only Portcullis, Envoy or the upstream may set (headerName already refuses hop-by-hop). */
const REFUSED_RESPONSE_HEADERS: ReadonlySet<string> = new Set([
  "set-cookie",
  "set-cookie2",
  "content-length",
  "content-type",
  "content-encoding",
  "content-range",
  "location",
  "refresh",
  "www-authenticate",
  "strict-transport-security",
  "content-security-policy",
  "access-control-allow-origin",
  "access-control-allow-credentials",
]);

export function checkRouteAnswerRules(config: PartialConfig, { problems }: RuleFindings): void {
  (config.routes ?? []).forEach((route, index) => {
    if (route === undefined) return;
    const at = keyPath("routes", index);
    for (const name of Object.keys(route.responseHeaders ?? {}))
      if (REFUSED_RESPONSE_HEADERS.has(name))
        problems.push({
          path: keyPath(keyPath(at, "responseHeaders"), name),
          message: `${JSON.stringify(name)} would steer the client (cookies, framing, redirects, challenges); use a header of your own, e.g. "x-auth-user"`,
        });
    const { html, json, htmlFile } = route.denial ?? {};
    if (typeof html === "string" && typeof htmlFile === "string")
      problems.push({
        path: keyPath(keyPath(at, "denial"), "htmlFile"),
        message: "is set beside html: keep one (the page inline, or the file it is read from)",
      });
    if (typeof html === "string" && Buffer.byteLength(html, "utf8") > MAX_DENIAL_HTML_BYTES)
      problems.push({
        path: keyPath(keyPath(at, "denial"), "html"),
        message: `is ${Buffer.byteLength(html, "utf8")} bytes; at most ${MAX_DENIAL_HTML_BYTES}: link to larger assets instead`,
      });
    if (typeof json === "string") {
      const path = keyPath(keyPath(at, "denial"), "json");
      if (Buffer.byteLength(json, "utf8") > MAX_DENIAL_JSON_BYTES)
        problems.push({ path, message: `is longer than ${MAX_DENIAL_JSON_BYTES} bytes; keep API error bodies small` });
      else if (!parsesAsJson(json))
        problems.push({ path, message: `is not JSON; write it as e.g. '{"error":"forbidden"}'` });
    }
  });
}

function parsesAsJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
