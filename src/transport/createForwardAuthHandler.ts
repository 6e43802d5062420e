// The HTTP forward-auth front door (nginx `auth_request`, Traefik, Caddy, Envoy's http_service): a
// request from a trusted proxy → the convention's reader → gate.decide() → the convention's answer.
// Nothing is decided here. A peer outside the trusted blocks, a refused request or any fault is
// answered with an explicit denial, and every answer is observed like a Check (metrics, denial and
// audit log).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { BlockList } from "node:net";
import type { AccessRequest } from "../core/AccessRequest.ts";
import type { Decision } from "../core/Decision.ts";
import { deny, internalErrorDecision } from "../core/deny.ts";
import type { CheckObserver, DecisionGate } from "./createExtAuthzHandlers.ts";
import { peerInBlocks } from "./peerInBlocks.ts";
import { ForwardAuthRefused } from "./readForwardAuthRequest.ts";
import { toForwardAuthResponse, type ForwardAuthResponse } from "./toForwardAuthResponse.ts";

/** One proxy's conventions: where it says what the original request was, and how it takes an answer. */
export interface ForwardAuthSettings {
  /** The peers whose word about the original request is believed. */
  readonly trustedProxies: BlockList;
  /** The original request from what the proxy sent (readForwardAuthRequest, readEnvoyAuthRequest). */
  readonly read: (req: IncomingMessage) => AccessRequest | ForwardAuthRefused;
  /** The decision in the proxy's terms; `clientHeaders`: the read request's headers (nginx's final credential values). */
  readonly answer: (decision: Decision, clientHeaders: ReadonlyMap<string, string> | undefined) => ForwardAuthResponse;
}

export type ForwardAuthHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** `settings` is asked on every request, so a config reload applies to the next one. */
export function createForwardAuthHandler(
  gate: DecisionGate,
  observer: CheckObserver,
  settings: () => ForwardAuthSettings,
): ForwardAuthHandler {
  return (req, res) => {
    const started = performance.now();
    let request: AccessRequest | null = null;
    let current: ForwardAuthSettings | null = null;
    const answer = (decision: Decision, fault?: unknown) => {
      let observed = decision;
      let cause = fault;
      try {
        // Before the settings are read (a fault there), the plainest answer: the denial as it is.
        const shaped =
          current === null ? toForwardAuthResponse(decision, null) : current.answer(decision, request?.headers);
        if (!res.headersSent) writeAnswer(res, shaped);
      } catch (writeFault) {
        // An answer that cannot be written whole is never half an allow: the denial, or none at all.
        observed = internalErrorDecision(null, "unexpected fault writing the forward-auth answer");
        cause = fault ?? writeFault;
        try {
          if (res.headersSent) res.destroy();
          else writeAnswer(res, toForwardAuthResponse(observed, null));
        } catch {
          res.destroy();
        }
      }
      try {
        observer.checked(request, observed, (performance.now() - started) / 1000, cause);
      } catch {
        // An observer fault is not the request's business.
      }
    };
    try {
      // The subrequest has no body worth reading; draining it keeps the connection usable.
      req.resume();
      current = settings();
      if (!peerInBlocks(current.trustedProxies, req.socket.remoteAddress)) {
        answer(deny("forward_auth_peer_untrusted", { route: null, detail: "peer outside forwardAuth.trustedProxies" }));
        return;
      }
      const read = current.read(req);
      if (read instanceof ForwardAuthRefused) {
        answer(deny(read.code, { route: null, detail: read.reason }));
        return;
      }
      request = read;
      gate.decide(read).then(
        (decision) => answer(decision),
        (fault: unknown) => answer(internalErrorDecision(null, "unexpected fault in decide"), fault),
      );
    } catch (fault) {
      answer(internalErrorDecision(null, "unexpected fault starting the forward-auth check"), fault);
    }
  };
}

/** Answered values read from the request itself (one char per byte), which go back as those bytes. */
const FROM_THE_REQUEST: ReadonlySet<string> = new Set(["cookie", "authorization"]);

/**
 * A header value as bytes on the wire. Portcullis's own values (claims' text) go as UTF-8, the
 * bytes Envoy sends for them over gRPC: as Latin-1, `José` and `Josè` would both read `Jos\uFFFD`
 * to a UTF-8 upstream, and node:http refuses anything beyond U+00FF. What was read from the
 * request goes back as the bytes it came as.
 */
function wireValue(name: string, value: string): string {
  if (FROM_THE_REQUEST.has(name) || !/[^\u0000-\u007f]/.test(value)) return value;
  return Buffer.from(value, "utf8").toString("latin1");
}

function writeAnswer(res: ServerResponse, { status, headers, body }: ForwardAuthResponse): void {
  const out: Record<string, string | string[]> = {};
  for (const [name, raw] of headers) {
    const value = wireValue(name, raw);
    const prior = out[name];
    if (prior === undefined) out[name] = name === "set-cookie" ? [value] : value;
    else if (Array.isArray(prior)) prior.push(value);
    else out[name] = value;
  }
  res.writeHead(status, out).end(body);
}
