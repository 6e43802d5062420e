// portcullis_admin_actions_total{action,result}: the admin API's requests, each counted once. Made
// only where the admin listener is served (a single process, or a `serve --workers` supervisor's own
// registry), so a supervisor's aggregate never holds it twice.
import { Counter, type Registry } from "prom-client";

export const ADMIN_ACTIONS = ["list_sessions", "end_session", "end_user_sessions"] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number] | "unknown";
/** ok; the request's fault: unauthorized, invalid, not_found, conflict; ours: unavailable, error. */
export type AdminResult = "ok" | "unauthorized" | "invalid" | "not_found" | "conflict" | "unavailable" | "error";

const NAME = "portcullis_admin_actions_total";

export function adminActionsCounter(registry: Registry): Counter<"action" | "result"> {
  const known = registry.getSingleMetric(NAME);
  if (known instanceof Counter) return known as Counter<"action" | "result">;
  const counter = new Counter({
    name: NAME,
    help: "Admin API requests by action (list_sessions|end_session|end_user_sessions|unknown: a path or method it does not serve, or no valid token) and result (ok|unauthorized|invalid|not_found|conflict|unavailable|error).",
    labelNames: ["action", "result"] as const,
    registers: [registry],
  });
  // Exported from the start, so alerts on refused tokens see a 0 before the first one.
  counter.inc({ action: "unknown", result: "unauthorized" }, 0);
  for (const action of ADMIN_ACTIONS) counter.inc({ action, result: "ok" }, 0);
  return counter;
}
