// The would-be answer of a shadow rule (`routes[].mode: shadow`, see Gate): the credential its
// `auth` and `providers` ask for (after its require.request; a revoked bearer token counts as refused), then its requirements,
// judged without side effects — a browser session is read but never refreshed, no login is started,
// and no DPoP proof is consumed (the binding step is left to the rule that decides, which checks the
// same proof once).
import type { DenialCode } from "../errors/ErrorCode.ts";
import type { SessionPort } from "../login/SessionPort.ts";
import type { AccessRequest } from "./AccessRequest.ts";
import type { CompiledRoute } from "./compileRoutes.ts";
import { evaluateRequirements } from "./evaluateRequirements.ts";
import { readPresentedToken } from "./readRouteToken.ts";
import { isBrowserNavigation } from "./isBrowserNavigation.ts";
import type { GateDependencies } from "./Gate.ts";
import { bearerSubject, certificateSubject, type Subject } from "./Subject.ts";

export interface ShadowDependencies {
  readonly verifier: GateDependencies["verifier"];
  readonly identity: GateDependencies["identity"];
  readonly sessions: SessionPort | null;
  /** Epoch seconds, for requirements' max_age. */
  readonly nowSeconds: () => number;
  /** The revocation list a bearer token meets, as on the rule that decides. */
  readonly revocations?: GateDependencies["revocations"];
}

/** The denial code the shadow rule would answer this request with, or null when it would let it through. */
export async function evaluateShadowRule(
  deps: ShadowDependencies,
  request: AccessRequest,
  route: CompiledRoute,
): Promise<DenialCode | null> {
  if (route.denyAll !== undefined) return "policy_denied";
  if (route.requestRequirement !== undefined && route.requestRequirement(request) !== null)
    return "request_condition_failed";
  if (route.auth === "public") return null; // check-config refuses it; nothing to evaluate
  const bearer = readPresentedToken(request, route);
  if (bearer.kind === "malformed") return "token_malformed";
  let subject: Subject | { kind: "allow" } | { kind: "deny"; code: DenialCode } | null;
  if (bearer.kind === "token") {
    const cached = deps.verifier.verifyCached?.(bearer.token, route.providers);
    subject = bearerSubject(route, cached ?? (await deps.verifier.verify(bearer.token, route.providers)), true);
  } else subject = certificateSubject(request, route) ?? (await sessionSubject(deps, request, route));
  if (subject === null) {
    if (route.auth === "optional") return null;
    const browserLogin = deps.sessions !== null && deps.sessions.loginProviderFor(route.providers) !== null;
    return browserLogin && isBrowserNavigation(request.method, request.headers) ? "login_required" : "token_missing";
  }
  if (subject.kind === "deny") return subject.code;
  if (subject.kind !== "subject") return null;
  if (bearer.kind === "token" && deps.revocations?.isTokenRevoked(subject.provider, subject.claims) === true)
    return "token_revoked";
  if (route.requirements === null) return null;
  const outcome = evaluateRequirements(route.requirements, {
    claims: subject.claims,
    roles: deps.identity.roles(subject.claims, subject.provider),
    ...(deps.identity.groups ? { groups: deps.identity.groups(subject.claims, subject.provider) } : {}),
    now: deps.nowSeconds(),
    request,
  });
  if (outcome.ok) return null;
  if (outcome.kind === "insufficient_scope") return "insufficient_scope";
  if (outcome.kind === "forbidden") return "requirement_failed";
  if (outcome.kind === "denied") return "policy_denied";
  return "step_up_required";
}

/** The browser session as stored, when the route accepts its provider; null when there is none. */
async function sessionSubject(
  deps: ShadowDependencies,
  request: AccessRequest,
  route: CompiledRoute,
): Promise<Subject | { kind: "deny"; code: DenialCode } | null> {
  const cookieHeader = request.headers.get("cookie");
  if (deps.sessions === null || cookieHeader === undefined) return null;
  const loaded = await deps.sessions.load(deps.sessions.parseCookies(cookieHeader));
  if (loaded.kind === "unavailable")
    return route.auth === "optional" ? null : { kind: "deny", code: "session_store_unavailable" };
  if (loaded.kind !== "session") return null;
  const { provider, claims } = loaded.session;
  if (route.providers.length > 0 && !route.providers.includes(provider)) return null;
  return { kind: "subject", claims, provider, credential: "session", setCookies: [], keepAnswer: false };
}
