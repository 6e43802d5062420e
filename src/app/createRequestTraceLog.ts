// Trace on demand for live requests (`log.traceRequests`): a check whose request carries the trace
// header, from a trusted address or with the secret as the header's value, runs through Gate.explain
// instead of decide, and its trace is logged at info as one line shaped like `explain --json`. The
// header is removed before the upstream whenever it is present, and its value is never logged. At
// most maxPerSecond traces a second per process (a token bucket); the rest are decided untraced.
import { createHash, timingSafeEqual } from "node:crypto";
import type { Logger } from "pino";
import type { Clock } from "../clock/Clock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { AccessRequest } from "../core/AccessRequest.ts";
import type { Decision } from "../core/Decision.ts";
import { createRecordingTrace, type GateTrace } from "../core/GateTrace.ts";
import type { Metrics } from "../observability/Metrics.ts";
import { peerInBlocks } from "../transport/peerInBlocks.ts";
import { blockListOf } from "./blockListOf.ts";
import { createTokenBucket } from "./createTokenBucket.ts";
import { credentialHeadersOf } from "./credentialHeadersOf.ts";
import { explanationObject } from "./renderExplanation.ts";

/** What the trace log needs of the gate: decide, and the same steps reported to a trace. */
export interface TraceableGate {
  decide(request: AccessRequest): Promise<Decision>;
  explain(request: AccessRequest, trace: GateTrace): Promise<Decision>;
}

export interface RequestTraceLog {
  /** The gate's decision, traced and logged when the request asks for it and may; the trace header never goes upstream. */
  decide(gate: TraceableGate, request: AccessRequest): Promise<Decision>;
}

export interface RequestTraceDependencies {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
}

/** Client-supplied values are logged bounded. */
const MAX_LOGGED_CHARS = 1024;

/** null when the config does not enable it: the check then pays nothing for it, not even a header lookup. */
export function createRequestTraceLog(
  config: PortcullisConfig,
  { logger, metrics, clock }: RequestTraceDependencies,
): RequestTraceLog | null {
  const section = config.log.traceRequests;
  if (section?.enabled !== true) return null;
  const { header } = section;
  const addresses = section.trustedAddresses.length > 0 ? blockListOf(section.trustedAddresses) : null;
  // Digests of equal length, so the comparison takes the same time whatever the value sent.
  const secret = section.secret === null ? null : sha256(section.secret);
  const bucket = createTokenBucket(section.maxPerSecond, clock);
  const credentialHeaders = credentialHeadersOf(config);
  const counted = {
    traced: metrics.requestTraces.labels("traced"),
    rateLimited: metrics.requestTraces.labels("rate_limited"),
    untrusted: metrics.requestTraces.labels("untrusted"),
  };

  const honoured = (request: AccessRequest, value: string): boolean =>
    (addresses !== null && peerInBlocks(addresses, request.sourceAddress)) ||
    (secret !== null && timingSafeEqual(sha256(value), secret));

  const log = (request: AccessRequest, trace: ReturnType<typeof createRecordingTrace>, decision: Decision) => {
    const shown = explanationObject({
      request: {
        method: request.method,
        scheme: request.scheme,
        host: clip(request.host),
        path: clip(withoutQuery(request.path)),
      },
      trace: trace.entries,
      decision,
      credentialHeaders,
    });
    logger.info({ requestId: clip(request.requestId), ...shown }, "request trace");
  };

  async function traced(gate: TraceableGate, request: AccessRequest, value: string): Promise<Decision> {
    let decision: Decision;
    if (!honoured(request, value)) {
      counted.untrusted.inc();
      decision = await gate.decide(request);
    } else if (!bucket.take()) {
      counted.rateLimited.inc();
      decision = await gate.decide(request);
    } else {
      const trace = createRecordingTrace();
      decision = await gate.explain(request, trace);
      counted.traced.inc();
      try {
        log(request, trace, decision);
      } catch {
        // A trace that could not be logged is not the request's business: it is answered all the same.
      }
    }
    return withoutHeader(decision, header);
  }

  return {
    decide(gate, request) {
      const value = request.headers.get(header);
      return value === undefined ? gate.decide(request) : traced(gate, request, value);
    },
  };
}

/** An allowed request loses the trace header (a denied one goes nowhere); the kept answer is copied, not changed. */
function withoutHeader(decision: Decision, header: string): Decision {
  if (decision.kind !== "allow" || decision.removeHeaders.includes(header)) return decision;
  return { ...decision, removeHeaders: [...decision.removeHeaders, header] };
}

function sha256(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** A query may carry a credential (a link's token, a login's code): the path is logged without it. */
function withoutQuery(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : `${path.slice(0, q)}?(query not shown)`;
}

function clip(value: string): string {
  return value.length <= MAX_LOGGED_CHARS ? value : `${value.slice(0, MAX_LOGGED_CHARS)}…`;
}
