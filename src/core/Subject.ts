// Who a request speaks for once a credential checked out, as the Gate's steps after the credential
// read it, and the two kinds made outside the session steps: a verified bearer token's (or its
// denial) and a machine admitted by its client certificate alone (routes[].mtls.clients).
import type { VerifyOutcome } from "../oidc/VerifyOutcome.ts";
import type { Session } from "../session/Session.ts";
import type { AccessRequest } from "./AccessRequest.ts";
import { CERTIFICATE_PROVIDER, certificateClientOf } from "./certificateClientOf.ts";
import type { Decision } from "./Decision.ts";
import { deny } from "./deny.ts";
import type { CompiledRoute } from "./RouteTable.ts";

export interface Subject {
  readonly kind: "subject";
  readonly claims: Readonly<Record<string, unknown>>;
  readonly provider: string;
  readonly credential: "bearer" | "session" | "certificate" | "api_key";
  /** The session, when the credential is one (its access token is what token exchange sends). */
  readonly session?: Session;
  /** Set-Cookie values for the client (a refreshed session). */
  readonly setCookies: readonly string[];
  /**
   * Whether its plain answer is kept for the next checks: a bearer token's once the token cache
   * answered it (its second sight; most first-seen tokens are never seen again), a session's always
   * (its store hands back the same claims for the same cookie), a certificate client's always.
   */
  readonly keepAnswer: boolean;
}

/** No Set-Cookie for the client: one shared empty list instead of a new one per check. */
const NONE: readonly string[] = Object.freeze([]);

/** A machine the route admits by its client certificate alone (mtls.clients), or null. */
export function certificateSubject(request: AccessRequest, route: CompiledRoute): Subject | null {
  const binding = route.binding;
  if (binding === null || binding.clients.length === 0) return null;
  const client = certificateClientOf(request, binding);
  if (client === null) return null;
  // Its claims object is the client's own, the same on every request, so its answer is kept like a session's.
  return {
    kind: "subject",
    claims: client.claims,
    provider: CERTIFICATE_PROVIDER,
    credential: "certificate",
    setCookies: NONE,
    keepAnswer: true,
  };
}

/** A verified bearer token's subject, or its denial; `fromCache`: the token cache answered it. */
export function bearerSubject(route: CompiledRoute, outcome: VerifyOutcome, fromCache: boolean): Subject | Decision {
  if (!outcome.ok) {
    return deny(outcome.code, {
      route: route.name,
      detail: outcome.detail,
      ...(outcome.provider !== undefined ? { provider: outcome.provider } : {}),
    });
  }
  return {
    kind: "subject",
    claims: outcome.claims,
    provider: outcome.provider,
    credential: "bearer",
    setCookies: NONE,
    keepAnswer: fromCache,
  };
}
