// The HTTP forward-auth front door (nginx `auth_request`): a request from a trusted proxy →
// readForwardAuthRequest → gate.decide() → toForwardAuthResponse. Nothing is decided here. A peer
// outside the trusted blocks, a refused request or any fault is answered with an explicit denial,
// and every answer is observed like a Check (metrics, denial and audit log).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { BlockList } from "node:net";
import type { AccessRequest } from "../core/AccessRequest.ts";
import type { Decision } from "../core/Decision.ts";
import { deny, internalErrorDecision } from "../core/deny.ts";
import type { CheckObserver, DecisionGate } from "./createExtAuthzHandlers.ts";
import { peerInBlocks } from "./peerInBlocks.ts";
import { ForwardAuthRefused, readForwardAuthRequest, type ForwardedHeaderNames } from "./readForwardAuthRequest.ts";
import { toForwardAuthResponse } from "./toForwardAuthResponse.ts";

export interface ForwardAuthSettings {
  /** The peers whose forwarded headers are believed. */
  readonly trustedProxies: BlockList;
  readonly headers: ForwardedHeaderNames;
  /** A browser's login redirect becomes 401 with its URL in this header (nginx); null: the 302 itself. */
  readonly loginUrlHeader: string | null;
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
      const { status, headers, body } = toForwardAuthResponse(
        decision,
        current?.loginUrlHeader ?? null,
        request?.headers,
      );
      const out: Record<string, string | string[]> = {};
      for (const [name, value] of headers) {
        const prior = out[name];
        if (prior === undefined) out[name] = name === "set-cookie" ? [value] : value;
        else if (Array.isArray(prior)) prior.push(value);
        else out[name] = value;
      }
      if (!res.headersSent) res.writeHead(status, out).end(body);
      try {
        observer.checked(request, decision, (performance.now() - started) / 1000, fault);
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
      const read = readForwardAuthRequest(req.rawHeaders, current.headers);
      if (read instanceof ForwardAuthRefused) {
        answer(deny("forward_auth_peer_untrusted", { route: null, detail: read.reason }));
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
