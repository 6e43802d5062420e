// Incremental consent, decided on plain data: a browser session that lacks a route's scopes goes
// back to its IdP for exactly those (with the route's step-up in the same round trip) when every
// missing scope is one the provider may ask for; otherwise null and the caller keeps its 403.
import type { StepUp } from "../login/startLogin.ts";
import type { CompiledRequirements } from "./compileRequirements.ts";
import { evaluateRequirements, type RequirementSubject } from "./evaluateRequirements.ts";
import { readScopes } from "../identity/readScopes.ts";

/** A scope token as RFC 6749 §3.3 writes it; a granted scope of any other shape is not asked for again. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
/** Bounds the authorization URL: a session holding more granted scopes than this keeps the first ones. */
const KEPT_SCOPES_MAX = 64;

/**
 * The login that could make `req` pass for `subject`, whose scopes fall short by `missing`; null when
 * a missing scope is outside `allowed` (`providers.<name>.consentScopes`), when the session was made
 * by a consent for it already (`consented`: it lost the scope since, e.g. at a refresh, and asking
 * again could go round for ever), or when the session would still fail after it (then a new login
 * could not help).
 */
export function planConsentLogin(
  req: CompiledRequirements,
  subject: RequirementSubject,
  missing: readonly string[],
  allowed: ReadonlySet<string>,
  consented: readonly string[] = [],
): StepUp | null {
  if (missing.length === 0) return null;
  if (!missing.every((scope) => allowed.has(scope) && !consented.includes(scope))) return null;
  // The rest of the route's requirements, as if the scopes were there: step-up rides along.
  const rest = evaluateRequirements({ ...req, scopes: [] }, subject);
  if (!rest.ok && rest.kind !== "step_up") return null;
  const keep = [...readScopes(subject.claims)].filter((scope) => SCOPE_TOKEN.test(scope)).slice(0, KEPT_SCOPES_MAX);
  return {
    acrValues: rest.ok ? null : rest.acrValues,
    maxAge: rest.ok ? null : rest.maxAge,
    consent: { add: [...missing], keep, stepUp: !rest.ok },
  };
}
