// The decision pipeline, readable in one place (`decide`): route policy (one host, one normalised
// path, the first matching route; a deny rule without `when` answers at once, a `require.request`
// the request fails is refused; public routes pass) →
// credential (a bearer token from the route's token source, else a client certificate or API key
// the route admits, else a browser session) → token revocation (back-channel logouts' sid and sub) → token
// binding (cnf: the certificate or the DPoP proof) → session freshness (refreshed when near expiry)
// → deny rules' `when`, then requirements (policy defaults and the route's own: scopes, roles,
// claims, clients, step-up) → identity
// headers (with the signed assertion, the dynamic metadata and the route's client headers) → the
// caller's token or an exchanged one where the route asks for it. No credential:
// an optional route passes anonymously, a browser is sent to log in, an API client gets 401. Pure of
// transports; every outcome is a Decision value, and any unexpected fault becomes an internal_error
// denial. `explain()` runs the same steps reporting each to a GateTrace (`portcullis explain`);
// `decide()` passes none. Shadow rules (`mode: shadow`) never decide: a config with any adds their
// would-be denials (#withShadows); a route's own denial bodies replace the built-in ones last.
// (About 730 lines with comments, over the ~350 habit on purpose:
// the steps of decide are kept in one file so the pipeline reads top to bottom, with the reuse of
// plain allow answers beside the steps that make them; who a credential speaks for is Subject.ts.)
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import { REGEX_INPUT_LIMIT } from "../config/compileLinearRegex.ts";
import { describeError } from "../errors/describeError.ts";
import type { SessionPort } from "../login/SessionPort.ts";
import type { StepUp } from "../login/startLogin.ts";
import { VerifierFault } from "../oidc/VerifierFault.ts";
import type { VerifyOutcome } from "../oidc/VerifyOutcome.ts";
import type { TokenExchangePort } from "../oidc/TokenExchange.ts";
import type { RevocationList } from "../session/createRevocationList.ts";
import type { Session } from "../session/Session.ts";
import type { AccessRequest } from "./AccessRequest.ts";
import { authorityProblem } from "./canonicalAuthority.ts";
import { createAssertionHeaders, type AssertionDependency, type AssertionHeaders } from "./createAssertionHeaders.ts";
import {
  createIdentityHeaderCache,
  type IdentityHeaderBuilder,
  type IdentityHeaderCache,
} from "./createIdentityHeaderCache.ts";
import type { Allow, Decision, Deny, HeaderList, ShadowDenial } from "./Decision.ts";
import type { DenialCode } from "../errors/ErrorCode.ts";
import { evaluateShadowRule, type ShadowDependencies } from "./evaluateShadowRule.ts";
import { deny, internalErrorDecision, redirectDecision, type DenyOptions, type DpopChallenge } from "./deny.ts";
import { clientIdOf, isMachinePrincipal } from "./evaluateRequirements.ts";
import { evaluateEachRequirement } from "./evaluateEachRequirement.ts";
import { planConsentLogin } from "./planConsentLogin.ts";
import { createRequirementMemo, type RequirementMemo } from "./createRequirementMemo.ts";
import type { BearerExtraction } from "./extractBearerToken.ts";
import { readPresentedToken } from "./readRouteToken.ts";
import { upstreamCookieOf } from "./upstreamCookieOf.ts";
import { denyAllOf, denyByRule } from "./denyByRule.ts";
import { refuseUnmetRequest } from "./refuseUnmetRequest.ts";
import { judgedSubject } from "./judgedSubject.ts";
import { credentialEntry, decisionEntry, type GateTrace, type GateTraceEntry } from "./GateTrace.ts";
import { isBrowserNavigation } from "./isBrowserNavigation.ts";
import type { CompiledRoute, RuleConsidered } from "./RouteTable.ts";
import { createTokenBinding } from "./createTokenBinding.ts";
import type { PresentedToken, TokenBinding } from "./TokenBinding.ts";
import { bearerSubject, type Subject } from "./Subject.ts";
import { machineSubject } from "./machineSubject.ts";
import { withDenialMetadata } from "./withDenialMetadata.ts";
import { withRouteRemovals } from "./withRouteRemovals.ts";
import { withExchangedToken, type ExchangeSubject } from "./withExchangedToken.ts";
import type { MetadataBuilder, MetadataSubject } from "../identity/createDynamicMetadata.ts";
import type { RouteResponseHeaders } from "../identity/createRouteResponseHeaders.ts";
import type { DenialPages } from "./createDenialPages.ts";
import { forwardedTokenOf, withForwardedToken, type TokenForwardings } from "./withForwardedToken.ts";
import type { ApiKeySet } from "./ApiKeySet.ts";
import type { ConditionInput } from "./compileRequestConditions.ts";

export type { VerifyOutcome };

export interface GateDependencies {
  readonly normalizePath: (raw: string) => { ok: true; path: string } | { ok: false; reason: string };
  readonly routes: {
    /** `request`: what a rule's header, query and source-address conditions read. */
    match(host: string, path: string, method: string, request: ConditionInput): CompiledRoute | null;
    /** Each rule up to the match and the part of the request it does not match (explain only). */
    consider?(host: string, path: string, method: string, request: ConditionInput): readonly RuleConsidered[];
    /** Some rule is in shadow mode (then shadowsBefore is called on every check). */
    readonly hasShadows?: boolean;
    /** The shadow rules a request meets before the rule that decides it. */
    shadowsBefore?(host: string, path: string, method: string, request: ConditionInput): readonly CompiledRoute[];
  };
  readonly verifier: {
    verify(token: string, accepted: readonly string[]): Promise<VerifyOutcome>;
    /** A cached token's outcome without a promise, else undefined (then verify() is called). */
    verifyCached?(token: string, accepted: readonly string[]): VerifyOutcome | undefined;
  };
  readonly identity: IdentityHeaderBuilder & {
    /** Roles and groups where the token's provider keeps them (see createIdentityHeaders). */
    roles(claims: Readonly<Record<string, unknown>>, provider?: string): string[];
    groups?(claims: Readonly<Record<string, unknown>>, provider?: string): string[];
  };
  /** Browser sessions and login; absent when no provider has a client (bearer tokens only). */
  readonly sessions?: SessionPort | null;
  /**
   * Checks a bound token (`cnf`) against the request's proof, and what routes demand; default: one
   * that checks client certificates and refuses DPoP-bound tokens (createTokenBinding without options).
   */
  readonly binding?: TokenBinding;
  /** Keep the client's Authorization header on an authenticated request (default: remove it). */
  readonly forwardAuthorization?: boolean;
  /** Where the time comes from (requirements' max_age, assertion renewal); default: the system's. */
  readonly clock?: Clock;
  /** The signed identity assertion for upstreams; absent when no route adds one. */
  readonly assertions?: AssertionDependency | null;
  /** Token exchange for the routes that ask for it; absent or null when none does. */
  readonly tokenExchange?: TokenExchangePort | null;
  /**
   * The revocation list bearer tokens meet (back-channel logouts by `sid` or `sub`), consulted for
   * every verified token, cached or not; absent or null: no revocations to meet.
   */
  readonly revocations?: Pick<RevocationList, "isTokenRevoked"> | null;
  /** The dynamic metadata of answers (`identity.metadata`), allows and denials; absent or null: none sent. */
  readonly metadata?: MetadataBuilder | null;
  /** Routes' response headers for the client on an allowed request (`routes[].responseHeaders`). */
  readonly responseHeaders?: RouteResponseHeaders | null;
  /** Routes' own denial bodies (`routes[].denial`). */
  readonly denialPages?: DenialPages | null;
  /** The routes whose upstream gets the caller's token (`routes[].forwardToken`); absent or null: none. */
  readonly forwardTokens?: TokenForwardings | null;
  /** API keys for the routes that accept them (apiKeys); absent or null: none configured. */
  readonly apiKeys?: Pick<ApiKeySet, "subjectOf"> | null;
}

/** What every step after route policy reads: the request, its route, and our cookies in it. */
interface CheckContext {
  readonly request: AccessRequest;
  readonly route: CompiledRoute;
  /** A top-level browser navigation: sent to log in and shown pages, unlike API clients and gRPC. */
  readonly browser: boolean;
  readonly sessions: SessionPort | null;
  readonly cookieHeader: string | undefined;
  /** The Cookie header the upstream gets: ours removed; null = none left (remove the header); undefined = unchanged. */
  readonly upstreamCookie: string | null | undefined;
  /** The token came as `Authorization: DPoP` (its proof was checked): the DPoP header goes with it. */
  readonly dpopScheme: boolean;
}

export class Gate {
  readonly #deps: GateDependencies;
  readonly #clock: Clock;
  readonly #identityHeaders: IdentityHeaderCache;
  readonly #binding: TokenBinding;
  /** Some provider demands bound tokens: a token without cnf is checked even where its route says nothing. */
  readonly #providersDemandBinding: boolean;
  readonly #assertionHeaders: AssertionHeaders | null;
  readonly #revocations: Pick<RevocationList, "isTokenRevoked"> | null;
  readonly #metadata: MetadataBuilder | null;
  readonly #responseHeaders: RouteResponseHeaders | null;
  readonly #denialPages: DenialPages | null;
  /**
   * Per credential (its claims object, which the token cache hands back for every check of one
   * token): its plain allow answer on the route it uses (most credentials use one), or on each
   * route by name once it uses several (see #identity). An entry goes with its claims.
   */
  readonly #allows = new WeakMap<object, Allow | Map<string, Allow>>();
  /** Per route: its plain public or anonymous answer (bounded by the routes of this config). */
  readonly #anonymousAllows = new Map<CompiledRoute, { public?: Allow; anonymous?: Allow }>();
  /** Per returning credential: what its claims alone decide of each route's requirements. */
  readonly #requirementMemo: RequirementMemo;

  constructor(deps: GateDependencies) {
    this.#deps = deps;
    this.#clock = deps.clock ?? systemClock;
    this.#identityHeaders = createIdentityHeaderCache(deps.identity, deps.forwardAuthorization === true);
    this.#binding = deps.binding ?? createTokenBinding();
    this.#providersDemandBinding = this.#binding.providersDemand;
    this.#assertionHeaders = deps.assertions == null ? null : createAssertionHeaders(deps.assertions);
    this.#revocations = deps.revocations ?? null;
    this.#metadata = deps.metadata ?? null;
    this.#responseHeaders = deps.responseHeaders ?? null;
    this.#denialPages = deps.denialPages ?? null;
    this.#requirementMemo = createRequirementMemo(deps.identity, this.#clock);
  }

  decide(request: AccessRequest): Promise<Decision> {
    // A config without shadow rules pays one property read for them; without denial pages, one more;
    // without dynamic metadata, one more.
    const shadowed =
      this.#deps.routes.hasShadows === true ? this.#withShadows(request, null) : this.#decide(request, null);
    const metadata = this.#metadata;
    const decided = metadata === null ? shadowed : shadowed.then((decision) => withDenialMetadata(decision, metadata));
    const pages = this.#denialPages;
    return pages === null ? decided : decided.then((decision) => pages(decision, request));
  }

  /** decide(), with each step reported to `trace` (`portcullis explain`); the decision is its last entry. */
  async explain(request: AccessRequest, trace: GateTrace): Promise<Decision> {
    const shadowed =
      this.#deps.routes.hasShadows === true
        ? await this.#withShadows(request, trace)
        : await this.#decide(request, trace);
    const decided = this.#metadata === null ? shadowed : withDenialMetadata(shadowed, this.#metadata);
    // The answer the client would get, route's denial body included (a traced live request gets it).
    const decision = this.#denialPages === null ? decided : await this.#denialPages(decided, request);
    trace.record(decisionEntry(decision));
    return decision;
  }

  /**
   * Shadow mode: the rule that decides is the first matching rule not in shadow mode (match()
   * skips shadow rules), as if they were not there; each shadow rule met before it is evaluated
   * without side effects (evaluateShadowRule) and its would-be denial added to the decision.
   */
  async #withShadows(request: AccessRequest, trace: GateTrace | null): Promise<Decision> {
    const decision = await this.#decide(request, trace);
    const normalized = this.#deps.normalizePath(request.path);
    if (request.hostInvalid === true || !normalized.ok || normalized.path.length > REGEX_INPUT_LIMIT) return decision;
    const shadows = this.#deps.routes.shadowsBefore?.(request.host, normalized.path, request.method, request) ?? [];
    const denials: ShadowDenial[] = [];
    for (const route of shadows) {
      let code: DenialCode | null;
      try {
        code = await evaluateShadowRule(this.#shadowDeps, request, route);
      } catch (fault) {
        code = fault instanceof VerifierFault && fault.unavailable ? "idp_unavailable" : "internal_error";
      }
      trace?.record({ step: "shadow", outcome: code ?? "would allow", detail: `route ${route.name}` });
      if (code !== null) denials.push({ route: route.name, code });
    }
    return denials.length === 0 ? decision : { ...decision, shadowDenials: denials };
  }

  get #shadowDeps(): ShadowDependencies {
    return {
      verifier: this.#deps.verifier,
      identity: this.#deps.identity,
      sessions: this.#deps.sessions ?? null,
      nowSeconds: () => Math.floor(this.#clock.now() / 1000),
      revocations: this.#revocations,
    };
  }

  async #decide(request: AccessRequest, trace: GateTrace | null): Promise<Decision> {
    let routeName: string | null = null;
    try {
      const route = this.#routePolicy(request, trace);
      if ("kind" in route) return route; // a denial
      routeName = route.name;
      const sessions = this.#deps.sessions ?? null;
      const cookieHeader = request.headers.get("cookie");
      // Our cookies (sealed session, login transactions) never travel upstream, on any route.
      const upstreamCookie = upstreamCookieOf(cookieHeader, sessions, route.tokenSource);
      // Public routes pass, with every owned header stripped so clients cannot inject identity.
      if (route.auth === "public") {
        trace?.record({ step: "credential", outcome: "not needed", detail: "public route" });
        return this.#anonymous(route, request.headers, "public", upstreamCookie, []);
      }

      const browser = isBrowserNavigation(request.method, request.headers);
      const bearer = readPresentedToken(request, route);
      const dpopScheme = bearer.kind === "token" && bearer.scheme === "dpop";
      const check: CheckContext = { request, route, browser, sessions, cookieHeader, upstreamCookie, dpopScheme };
      // The credential step's bearer branch is here rather than in a step of its own, so a cached
      // token (the hot path) is answered without waiting on anything; only a token the cache does
      // not hold is awaited.
      if (bearer.kind === "malformed") {
        trace?.record({ step: "credential", outcome: "token_malformed", detail: bearer.detail });
        return this.#onScheme(
          bearer.scheme,
          route,
          deny("token_malformed", { route: route.name, detail: bearer.detail }),
        );
      }
      const { verifier } = this.#deps;
      const cached = bearer.kind === "token" ? verifier.verifyCached?.(bearer.token, route.providers) : undefined;
      const subject =
        bearer.kind === "token"
          ? bearerSubject(route, cached ?? (await verifier.verify(bearer.token, route.providers)), cached !== undefined)
          : (machineSubject(request, route, this.#deps.apiKeys) ?? (await this.#sessionCredential(check)));
      trace?.record(credentialEntry(bearer.kind === "token" ? bearer.scheme : "other", subject, cached !== undefined));
      if (subject.kind !== "subject")
        return bearer.kind === "token" ? this.#onScheme(bearer.scheme, route, subject) : subject;
      const revoked = bearer.kind === "token" ? this.#revocation(bearer.scheme, route, subject, trace) : null;
      if (revoked !== null) return revoked;
      // Token binding, on every check of a token (the cache keeps cnf; the proof is the request's). A
      // token without cnf on a route that demands nothing (the hot path) costs these three reads.
      if (
        bearer.kind === "token" &&
        (subject.claims["cnf"] !== undefined ||
          route.binding !== null ||
          this.#providersDemandBinding ||
          bearer.scheme === "dpop")
      ) {
        const presented: PresentedToken = {
          token: bearer.token,
          scheme: bearer.scheme,
          claims: subject.claims,
          provider: subject.provider,
        };
        const outcome = this.#binding.check(presented, request, route);
        const refused = outcome instanceof Promise ? await outcome : outcome;
        trace?.record({ step: "binding", outcome: refused === null ? "ok" : refused.code });
        if (refused !== null) return refused;
      }
      // Null (met) or a denial without waiting; only a step-up login is a promise.
      const unmet = this.#requirements(check, subject, trace);
      trace?.record(requirementsEntry(route, unmet));
      if (unmet !== null) return this.#refusedVerified(unmet, subject);
      const upstream = this.#upstreamToken(check, subject, bearer, this.#identity(check, subject));
      return upstream instanceof Promise ? await upstream : upstream;
    } catch (fault) {
      // An IdP that cannot be reached (introspection) is an outage to report as such, not a bug.
      if (fault instanceof VerifierFault && fault.unavailable)
        return deny("idp_unavailable", { route: routeName, detail: describeFault(fault) });
      return internalErrorDecision(routeName, describeFault(fault));
    }
  }

  /** A requirement's denial of a verified caller carries who they are in its metadata (when sent). */
  #refusedVerified(unmet: Decision | Promise<Decision>, subject: Subject): Decision | Promise<Decision> {
    const metadata = this.#metadata;
    if (metadata === null || unmet instanceof Promise) return unmet;
    return withDenialMetadata(unmet, metadata, metadataSubjectOf(subject, isMachinePrincipal(subject.claims)));
  }

  /**
   * Token revocation, on every check of a token, cached or not: a token whose answer is kept is
   * refused from the first check after the logout on. Null when not revoked; an empty list costs a
   * size read and no allocation.
   */
  #revocation(
    scheme: "bearer" | "dpop",
    route: CompiledRoute,
    subject: Subject,
    trace: GateTrace | null,
  ): Decision | null {
    if (this.#revocations?.isTokenRevoked(subject.provider, subject.claims) !== true) return null;
    trace?.record({ step: "revocation", outcome: "token_revoked" });
    const detail = "a logout ended the token's IdP session (sid) or its user's tokens issued by then (sub)";
    return this.#onScheme(
      scheme,
      route,
      deny("token_revoked", { route: route.name, provider: subject.provider, detail }),
    );
  }

  /** A token refused under the DPoP scheme is refused on the DPoP challenge (RFC 9449 §7.1), not Bearer's. */
  #onScheme(scheme: "bearer" | "dpop", route: CompiledRoute, refused: Decision): Decision {
    if (scheme === "bearer" || refused.kind !== "deny" || refused.status !== 401) return refused;
    return deny(refused.code, {
      route: refused.route,
      ...(refused.detail !== undefined ? { detail: refused.detail } : {}),
      ...(refused.provider !== undefined ? { provider: refused.provider } : {}),
      challenge: { dpop: this.#dpopAlone(route) },
    });
  }

  /** The DPoP challenge alone, for a request that spoke DPoP: the route's algs (none where no provider of it accepts DPoP). */
  #dpopAlone(route: CompiledRoute): DpopChallenge {
    return { algs: this.#binding.dpopChallenge(route)?.algs ?? [], only: true };
  }

  /**
   * Route policy. One host, one meaning: an authority that is not one host[:port] is refused. Then
   * the path, normalised exactly as our Envoy configs do (ambiguous shapes refused), before any rule
   * sees it; the first matching rule wins, and no rule means the configured default (deny).
   */
  #routePolicy(request: AccessRequest, trace: GateTrace | null): CompiledRoute | Deny {
    if (request.hostInvalid === true) {
      trace?.record({ step: "host", outcome: "invalid" });
      // The authority is the client's; quoted and bounded so a log line stays one readable line.
      const problem = authorityProblem(request.host) ?? "not a host[:port]";
      return deny("host_invalid", {
        route: null,
        detail: `${problem}: ${JSON.stringify(request.host.slice(0, 200))}`,
      });
    }
    const normalized = this.#deps.normalizePath(request.path);
    trace?.record(
      normalized.ok
        ? { step: "path", outcome: "normalised", detail: normalized.path }
        : { step: "path", outcome: "invalid", detail: normalized.reason },
    );
    if (!normalized.ok) return deny("path_invalid", { route: null, detail: normalized.reason });
    // Bounds what a route regex runs on; a longer path is refused, never left to a looser rule.
    if (normalized.path.length > REGEX_INPUT_LIMIT)
      return deny("path_invalid", { route: null, detail: `path longer than ${REGEX_INPUT_LIMIT} characters` });
    const route = this.#deps.routes.match(request.host, normalized.path, request.method, request);
    if (trace !== null)
      for (const rule of this.#deps.routes.consider?.(request.host, normalized.path, request.method, request) ?? [])
        trace.record({
          step: "rule",
          outcome: rule.mismatch !== null ? "skipped" : rule.shadow === true ? "shadow" : "matches",
          detail: rule.mismatch === null ? rule.name : `${rule.name}: ${rule.mismatch} does not match`,
        });
    trace?.record(
      route === null
        ? { step: "route", outcome: "none", detail: `no rule matches ${request.method} ${request.host}` }
        : { step: "route", outcome: "matched", detail: `${route.name} (auth ${route.auth})` },
    );
    if (route === null) {
      return deny("route_not_found", { route: null, detail: `no route for host ${JSON.stringify(request.host)}` });
    }
    // A rule that denies every request it matches (a deny rule without `when`) needs no credential.
    if (route.denyAll !== undefined) return denyAllOf(route, route.denyAll, request, trace);
    if (route.requestRequirement !== undefined) return refuseUnmetRequest(route, request, trace) ?? route;
    return route;
  }

  /** The credential without a bearer token: the browser session, when there is one. */
  async #sessionCredential(check: CheckContext): Promise<Subject | Decision> {
    const { route, sessions, cookieHeader } = check;
    if (sessions === null || cookieHeader === undefined) return this.#noCredential(check, null, []);
    const cookies = sessions.parseCookies(cookieHeader);
    const loaded = await sessions.load(cookies);
    // A session that cannot be read is not a missing one: fail closed with a 503, never a
    // login loop (an optional route goes on anonymously, as for an IdP outage).
    if (loaded.kind === "unavailable" && route.auth !== "optional") {
      return deny("session_store_unavailable", { route: route.name, detail: loaded.reason, browser: check.browser });
    }
    if (loaded.kind === "session" && acceptsProvider(route.providers, loaded.session.provider))
      return this.#sessionFreshness(check, sessions, cookies, loaded.session, loaded.present);
    return this.#noCredential(check, cookies, loaded.kind === "invalid" ? loaded.clear : []);
  }

  /** Session freshness: near its access token's expiry a session is refreshed, or ends. */
  async #sessionFreshness(
    check: CheckContext,
    sessions: SessionPort,
    cookies: ReadonlyMap<string, string>,
    session: Session,
    present: readonly string[],
  ): Promise<Subject | Decision> {
    const { route } = check;
    const fresh = await sessions.freshen(session, present);
    // An optional route does without the caller's identity rather than fail for an outage.
    if (fresh.kind === "unavailable" && route.auth !== "optional") {
      const code = fresh.cause === "store" ? "session_store_unavailable" : "idp_unavailable";
      return deny(code, {
        route: route.name,
        detail: fresh.reason,
        provider: session.provider,
        browser: check.browser,
      });
    }
    if (fresh.kind === "fresh") {
      const { claims, provider } = fresh.session;
      return {
        kind: "subject",
        claims,
        provider,
        credential: "session",
        session: fresh.session,
        setCookies: fresh.setCookies,
        keepAnswer: true,
      };
    }
    return this.#noCredential(check, cookies, fresh.kind === "ended" ? fresh.clear : []);
  }

  /** No usable credential: optional routes pass anonymously, browsers go to log in, APIs get 401. */
  async #noCredential(
    check: CheckContext,
    cookies: ReadonlyMap<string, string> | null,
    clearCookies: readonly string[],
  ): Promise<Decision> {
    const { request, route, sessions } = check;
    if (route.auth === "optional")
      return this.#anonymous(route, request.headers, "anonymous", check.upstreamCookie, clearCookies);
    if (check.browser && sessions !== null) {
      const provider = sessions.loginProviderFor(route.providers);
      if (provider !== null) {
        const started = await sessions.startLogin(request, provider, cookies ?? new Map(), undefined);
        if (started.kind === "unavailable")
          return deny("idp_unavailable", {
            route: route.name,
            provider,
            detail: "provider not ready for login",
            browser: true,
          });
        // The login transaction is the one cookie this 302 carries; a dead session's cookies are
        // replaced when the login completes.
        return redirectDecision(started.location, started.setCookies, { route: route.name, provider });
      }
    }
    const code = clearCookies.length > 0 ? "session_invalid" : "token_missing";
    // Where a provider of the route accepts DPoP, the 401 offers that scheme too (RFC 9449 §7.1).
    const dpop = this.#binding.dpopChallenge(route);
    return deny(code, {
      route: route.name,
      extraHeaders: setCookieHeaders(clearCookies.slice(0, 1)),
      ...(dpop !== null ? { challenge: { dpop } } : {}),
    });
  }

  /** The upstream's token where the route asks for one: the caller's own (forwardToken) or an exchanged one. */
  #upstreamToken(
    check: CheckContext,
    subject: Subject,
    bearer: BearerCredential,
    allowed: Decision,
  ): Decision | Promise<Decision> {
    if (allowed.kind !== "allow") return allowed;
    const { route } = check;
    // The caller's token for the routes that ask for it: per token, so never one of #allows either.
    const forwarding = this.#deps.forwardTokens?.get(route.name);
    if (forwarding !== undefined)
      return withForwardedToken(allowed, forwarding, forwardedTokenOf(forwarding, subject.session, tokenOf(bearer)));
    // Token exchange, on the routes that ask for it: the upstream gets a token the IdP made for it
    // instead of the caller's. Its answer is per caller token, so it is never one of #allows.
    const exchange = this.#deps.tokenExchange?.forRoute(route.name) ?? null;
    if (exchange === null) return allowed;
    return withExchangedToken(exchange, allowed, exchangeSubject(bearer, subject, check.browser));
  }

  /** Requirements: the route's scopes, roles, claims, clients and step-up, on the verified claims; null = met. */
  #requirements(check: CheckContext, subject: Subject, trace: GateTrace | null): Decision | Promise<Decision> | null {
    const { route, sessions } = check;
    if (route.requirements === null) return null;
    if (trace !== null) {
      const judged = judgedSubject(this.#deps.identity, subject, this.#clock, check.request);
      for (const { part, detail } of evaluateEachRequirement(route.requirements, judged))
        trace.record({ step: "requirement", outcome: detail === null ? "met" : "failed", detail: detail ?? part });
    }
    const outcome = this.#requirementMemo.judge(route.requirements, subject, check.request);
    if (outcome.ok) return null;
    const asPage = check.browser && subject.credential === "session";
    const common = {
      route: route.name,
      detail: outcome.detail,
      provider: subject.provider,
      browser: asPage,
      extraHeaders: setCookieHeaders(onDenial(subject.setCookies)),
    };
    // A token that came as DPoP is answered on the DPoP challenge (RFC 9449 §7.1), with the same parameters.
    const dpop = check.dpopScheme ? { dpop: this.#dpopAlone(route) } : {};
    if (outcome.kind === "insufficient_scope") {
      // A browser session may go back to its IdP for the missing scopes (incremental consent).
      const consent =
        asPage && sessions !== null
          ? planConsentLogin(
              route.requirements,
              judgedSubject(this.#deps.identity, subject, this.#clock, check.request),
              outcome.missing,
              sessions.consentScopesOf(subject.provider),
              subject.session?.consented,
            )
          : null;
      if (consent !== null && sessions !== null)
        return this.#stepUpLogin(check, sessions, subject, consent, common, outcome.detail);
      return deny("insufficient_scope", { ...common, challenge: { scope: outcome.scopes, ...dpop } });
    }
    if (outcome.kind === "forbidden") return deny("requirement_failed", common);
    if (outcome.kind === "denied")
      return denyByRule(outcome.denial, { route: route.name, browser: asPage, provider: subject.provider });
    const stepUp: StepUp = { acrValues: outcome.acrValues, maxAge: outcome.maxAge };
    if (asPage && sessions !== null) return this.#stepUpLogin(check, sessions, subject, stepUp, common, outcome.detail);
    return deny("step_up_required", {
      ...common,
      challenge: {
        ...(outcome.acrValues ? { acrValues: outcome.acrValues } : {}),
        ...(outcome.maxAge !== null ? { maxAge: outcome.maxAge } : {}),
        ...dpop,
      },
    });
  }

  /** A browser whose session falls short of a route's step-up (or consented scopes) goes back to the IdP for it. */
  async #stepUpLogin(
    check: CheckContext,
    sessions: SessionPort,
    subject: Subject,
    stepUp: StepUp,
    common: DenyOptions,
    detail: string,
  ): Promise<Decision> {
    const cookies = sessions.parseCookies(check.cookieHeader);
    const started = await sessions.startLogin(check.request, subject.provider, cookies, stepUp);
    const what = stepUp.consent === undefined ? "step-up" : "consent";
    if (started.kind === "unavailable")
      return deny("idp_unavailable", { ...common, detail: `provider not ready for ${what}` });
    return redirectDecision(started.location, started.setCookies, {
      route: check.route.name,
      provider: subject.provider,
      detail: `${what}: ${detail}`,
    });
  }

  /** Identity headers: set ours, remove every other owned header the client may have sent. */
  #identity(check: CheckContext, subject: Subject): Decision {
    const { request, route, upstreamCookie } = check;
    const machine = isMachinePrincipal(subject.claims);
    const headers = this.#identityHeaders(subject.claims, machine, subject.provider, subject.keepAnswer);
    let remove = withRouteRemovals(headers.remove, route.removeRequestHeaders, request.headers, headers.set);
    // A DPoP proof goes where the Authorization header goes: removed unless the token is forwarded,
    // whatever the scheme (a proof sent beside a Bearer token or a cookie is no less the client's).
    // Read only where DPoP is spoken or the route's providers accept it: Envoy passes the header then.
    if (
      this.#deps.forwardAuthorization !== true &&
      (check.dpopScheme || this.#binding.dpopChallenge(route) !== null) &&
      request.headers.has("dpop")
    )
      remove = [...remove, "dpop"];
    // The usual answer (no Cookie header to rewrite, nothing for the client, only the usual
    // removals) is the same for every check of one credential on one route: once the credential is
    // known to come back (see Subject.keepAnswer) it is made once, frozen and handed out again, so a
    // cached token's check allocates no answer and a transport may reuse what it encoded for it.
    // A first-seen token's answer is made for its one check and not kept (nor are its bytes).
    // An answer carrying a signed assertion is kept only until the assertion renews (renewAt).
    const plain = upstreamCookie === undefined && subject.setCookies.length === 0 && remove === headers.remove;
    if (!plain || !subject.keepAnswer) return this.#allow(check, subject, headers.set, remove, machine);
    const kept = this.#allows.get(subject.claims);
    // A plain answer depends on the route only through its name (the removals are checked above).
    const known = kept === undefined || kept instanceof Map ? kept?.get(route.name) : kept;
    if (
      known?.route === route.name &&
      known.provider === subject.provider &&
      known.credential === subject.credential &&
      (known.renewAt === undefined || this.#clock.now() < known.renewAt)
    )
      return known;
    const fresh = this.#allow(check, subject, headers.set, remove, machine);
    if (fresh.kind !== "allow") return fresh;
    const allow = Object.freeze(fresh);
    if (kept === undefined || (!(kept instanceof Map) && kept.route === route.name))
      this.#allows.set(subject.claims, allow);
    else if (kept instanceof Map) kept.set(route.name, allow);
    else
      this.#allows.set(
        subject.claims,
        new Map([
          [kept.route, kept],
          [route.name, allow],
        ]),
      );
    return allow;
  }

  /**
   * The allow answer for a subject: our headers set (the route's signed assertion among them),
   * `remove` removed, the caller named for the audit log; a denial when the assertion cannot be made.
   */
  #allow(
    check: CheckContext,
    subject: Subject,
    set: HeaderList,
    remove: readonly string[],
    machine: boolean,
  ): Allow | Deny {
    const { route, upstreamCookie } = check;
    const asserted =
      this.#assertionHeaders?.(route.name, subject.claims, subject.provider, machine, set, remove) ?? null;
    // Fail closed: an upstream that expects the assertion never gets the request without one.
    if (asserted !== null && "refused" in asserted)
      return internalErrorDecision(route.name, `signed assertion not made: ${asserted.refused}`);
    if (asserted !== null) ({ set, remove } = asserted);
    return {
      kind: "allow",
      route: route.name,
      reason: "authenticated",
      setHeaders: upstreamCookie === undefined || upstreamCookie === null ? set : [...set, ["cookie", upstreamCookie]],
      removeHeaders: upstreamCookie === null ? [...remove, "cookie"] : remove,
      provider: subject.provider,
      credential: subject.credential,
      ...callerOf(subject.claims, machine),
      ...toClientOf(subject, this.#responseHeaders?.(route.name, subject.claims) ?? []),
      ...(asserted !== null ? { renewAt: asserted.renewAt } : {}),
      ...(route.removeQueryParameters === undefined ? {} : { removeQueryParameters: route.removeQueryParameters }),
      // Made with the answer, so a reused answer carries it at no further cost.
      ...(this.#metadata === null ? {} : { metadata: this.#metadata(route.name, metadataSubjectOf(subject, machine)) }),
    };
  }

  #anonymous(
    route: CompiledRoute,
    requestHeaders: ReadonlyMap<string, string>,
    reason: "public" | "anonymous",
    upstreamCookie: string | null | undefined,
    clearCookies: readonly string[],
  ): Decision {
    const owned = this.#deps.identity.ownedHeaders;
    const remove = withRouteRemovals(owned, route.removeRequestHeaders, requestHeaders, []);
    // As for a credential: the usual answer of a public or optional route is made once per route.
    const plain = upstreamCookie === undefined && clearCookies.length === 0 && remove === owned;
    const known = plain ? this.#anonymousAllows.get(route)?.[reason] : undefined;
    if (known !== undefined) return known;
    const allow: Allow = {
      kind: "allow",
      route: route.name,
      reason,
      setHeaders: typeof upstreamCookie === "string" ? [["cookie", upstreamCookie]] : [],
      removeHeaders: upstreamCookie === null ? [...remove, "cookie"] : remove,
      ...(clearCookies.length > 0 ? { responseHeaders: setCookieHeaders(clearCookies) } : {}),
      ...(route.removeQueryParameters === undefined ? {} : { removeQueryParameters: route.removeQueryParameters }),
      ...(this.#metadata === null ? {} : { metadata: this.#metadata(route.name, null) }),
    };
    if (!plain) return allow;
    const byReason = this.#anonymousAllows.get(route) ?? {};
    byReason[reason] = Object.freeze(allow);
    this.#anonymousAllows.set(route, byReason);
    return byReason[reason];
  }
}

function callerOf(
  claims: Readonly<Record<string, unknown>>,
  machine: boolean,
): { caller?: { kind: "user" | "client"; id: string } } {
  const id = machine ? clientIdOf(claims) : typeof claims["sub"] === "string" ? claims["sub"] : null;
  return id === null ? {} : { caller: { kind: machine ? "client" : "user", id } };
}

/** The client's headers on an allowed answer: a refreshed session's Set-Cookie, then the route's own. */
function toClientOf(subject: Subject, routeHeaders: HeaderList): { responseHeaders?: HeaderList } {
  if (subject.setCookies.length === 0) return routeHeaders.length > 0 ? { responseHeaders: routeHeaders } : {};
  return { responseHeaders: [...setCookieHeaders(subject.setCookies), ...routeHeaders] };
}

/** What the metadata is made from: claims and names only, never the session and its tokens. */
function metadataSubjectOf(subject: Subject, machine: boolean): MetadataSubject {
  const { claims, provider, credential } = subject;
  return { claims, provider, credential, machine, clientId: clientIdOf(claims) };
}

/** The requirements step's entry: none configured, met, or the first one that failed and its answer. */
function requirementsEntry(route: CompiledRoute, unmet: Decision | Promise<Decision> | null): GateTraceEntry {
  if (route.requirements === null) return { step: "requirements", outcome: "none" };
  if (unmet === null) return { step: "requirements", outcome: "met" };
  if (unmet instanceof Promise)
    return { step: "requirements", outcome: "step_up", detail: "a new login (step-up or incremental consent)" };
  return {
    step: "requirements",
    outcome: unmet.kind === "deny" ? unmet.code : "redirect",
    ...(unmet.kind === "deny" && unmet.detail !== undefined ? { detail: unmet.detail } : {}),
  };
}

function acceptsProvider(accepted: readonly string[], provider: string): boolean {
  return accepted.length === 0 || accepted.includes(provider);
}

/**
 * Envoy keeps only one Set-Cookie on a denied response. A refreshed session spread over several
 * cookies is not sent partially (that would break the set); the old cookie keeps working while the
 * login client remembers the refresh.
 */
function onDenial(setCookies: readonly string[]): readonly string[] {
  return setCookies.length === 1 ? setCookies : [];
}

function setCookieHeaders(values: readonly string[]): HeaderList {
  return values.map((value) => ["set-cookie", value] as const);
}

function describeFault(fault: unknown): string {
  // A VerifierFault's message is written to be log-safe, and so is its cause's class; any other
  // error gives class and code only: library messages may quote input, and input may be a token.
  if (fault instanceof VerifierFault) {
    const cause = fault.cause instanceof Error ? ` (cause: ${fault.cause.name})` : "";
    return `${fault.message}${cause}`;
  }
  return `unexpected ${describeError(fault)}`;
}

type BearerCredential = BearerExtraction;

function tokenOf(bearer: BearerCredential): { token: string; scheme: string } | null {
  return bearer.kind === "token" ? bearer : null;
}

/** What token exchange sends for the caller: the session's access token, else the bearer token. */
function exchangeSubject(bearer: BearerCredential, subject: Subject, browser: boolean): ExchangeSubject {
  const { session, provider } = subject;
  if (session !== undefined)
    return { token: session.accessToken, tokenExp: session.accessTokenExpiresAt, provider, browser };
  // A certificate client has no token to exchange (check-config refuses exchange with mtls.clients);
  // anything else without one is a bug. Either is denied as internal_error, never let through.
  if (bearer.kind !== "token") throw new Error("no access token to exchange");
  const exp = subject.claims["exp"];
  return { token: bearer.token, tokenExp: typeof exp === "number" ? exp : null, provider, browser: false };
}
