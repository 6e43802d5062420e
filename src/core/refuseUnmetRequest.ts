// `require.request`: a route's conditions on the request itself (and those of the policy defaults),
// judged right after the route matched and before any credential is read: signing in cannot change
// the caller's address, SNI or the time, so a request that fails them is refused with 403 at once
// rather than asked to log in.
import type { AccessRequest } from "./AccessRequest.ts";
import type { CompiledRoute } from "./compileRoutes.ts";
import type { Deny } from "./Decision.ts";
import type { GateTrace } from "./GateTrace.ts";
import { deny } from "./deny.ts";
import { isBrowserNavigation } from "./isBrowserNavigation.ts";

/** The 403 request_condition_failed for a request the route's require.request refuses; null when it holds. */
export function refuseUnmetRequest(route: CompiledRoute, request: AccessRequest, trace: GateTrace | null): Deny | null {
  const failed = route.requestRequirement?.(request) ?? null;
  trace?.record({
    step: "requirement",
    outcome: failed === null ? "met" : "failed",
    detail: failed === null ? "request" : `request: ${failed} does not match`,
  });
  if (failed === null) return null;
  return deny("request_condition_failed", {
    route: route.name,
    detail: `require.request: ${failed} does not match`,
    browser: isBrowserNavigation(request.method, request.headers),
  });
}
