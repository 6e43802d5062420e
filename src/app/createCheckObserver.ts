// The ext_authz observer: counts every answered check and its duration, logs each denial once,
// and with the audit log on, one line per decision. It reads the audit switch through a getter, so
// one observer serves every config generation across reloads; its metric children are bounded by
// route names (from config) and reasons (closed sets). A shadow rule's would-be denial is counted
// and logged here too.
import type { Logger } from "pino";
import type { AccessRequest } from "../core/AccessRequest.ts";
import type { Decision } from "../core/Decision.ts";
import type { CounterChild } from "../observability/BatchedCounter.ts";
import type { HistogramChild } from "../observability/BatchedHistogram.ts";
import type { Metrics } from "../observability/Metrics.ts";
import type { CheckObserver } from "../transport/createExtAuthzHandlers.ts";

export function createCheckObserver(
  metrics: Metrics,
  logger: Logger,
  audit: () => boolean = () => false,
): CheckObserver {
  // Metric children per label set, resolved once and found again without building a key: a check
  // adds to plain numbers that the next scrape reads (see BatchedCounter, BatchedHistogram).
  const checkCounters = {
    allow: new Map<string, Map<string, CounterChild>>(),
    deny: new Map<string, Map<string, CounterChild>>(),
  };
  const durationOf = durationChildren(metrics);
  /** Counts the check and returns its route's label value. */
  const countCheck = (decision: Decision): string => {
    const reason = decision.kind === "allow" ? decision.reason : decision.code;
    const route = decision.route ?? "(none)";
    let byReason = checkCounters[decision.kind].get(route);
    if (byReason === undefined) checkCounters[decision.kind].set(route, (byReason = new Map()));
    let counter = byReason.get(reason);
    if (counter === undefined) {
      counter = metrics.checks.child({ decision: decision.kind, reason, route });
      byReason.set(reason, counter);
    }
    counter.inc();
    return route;
  };

  return {
    checked(request: AccessRequest | null, decision: Decision, seconds: number, fault?: unknown) {
      const route = countCheck(decision);
      if (decision.shadowDenials !== undefined) recordShadowDenials(metrics, logger, request, decision);
      durationOf(route)[decision.kind].observe(seconds);
      const auditing = audit();
      if (decision.kind === "allow") {
        if (!auditing) return;
        logger.info(
          {
            audit: true,
            requestId: clip(request?.requestId),
            route: decision.route,
            decision: "allow",
            reason: decision.reason,
            provider: decision.provider,
            credential: decision.credential,
            // A person's sub or a machine's client id: who was let in, never how (no token).
            callerKind: decision.caller?.kind,
            caller: clip(decision.caller?.id),
            method: request?.method,
            host: clip(request?.host),
          },
          "audit",
        );
        return;
      }
      const line = {
        ...(auditing ? { audit: true, decision: "deny" } : {}),
        requestId: clip(request?.requestId),
        route: decision.route,
        code: decision.code,
        status: decision.status,
        provider: decision.provider,
        detail: decision.detail,
        method: request?.method,
        host: clip(request?.host),
      };
      if (decision.code === "internal_error") {
        logger.error({ ...line, fault: fault instanceof Error ? fault.name : undefined }, "check failed closed");
      } else {
        logger.info(line, auditing ? "audit" : "request denied");
      }
    },
  };
}

/**
 * Duration children by route name (from config, or "(none)" when no rule matched: never a value the
 * client chose), both decisions bound together on a route's first check and found by one Map lookup.
 */
function durationChildren(metrics: Metrics): (route: string) => Record<Decision["kind"], HistogramChild> {
  const durations = new Map<string, Record<Decision["kind"], HistogramChild>>();
  return (route) => {
    let children = durations.get(route);
    if (children === undefined) {
      children = {
        allow: metrics.checkDuration.child({ decision: "allow", route }),
        deny: metrics.checkDuration.child({ decision: "deny", route }),
      };
      durations.set(route, children);
    }
    return children;
  };
}

/**
 * Shadow rules' would-be denials: counted by route name and registry code only (bounded labels),
 * and one info line each naming the request, never its credential.
 */
function recordShadowDenials(
  metrics: Metrics,
  logger: Logger,
  request: AccessRequest | null,
  decision: Decision,
): void {
  for (const { route, code } of decision.shadowDenials ?? []) {
    metrics.shadowDenials.inc({ route, code });
    logger.info(
      {
        requestId: clip(request?.requestId),
        route,
        code,
        decidedBy: decision.route,
        decision: decision.kind,
        method: request?.method,
        host: clip(request?.host),
      },
      "shadow rule would deny",
    );
  }
}

/** Client-supplied values go into logs bounded, so a huge header cannot flood them. */
function clip(value: string | undefined): string | undefined {
  return value === undefined || value.length <= 128 ? value : `${value.slice(0, 128)}…`;
}
