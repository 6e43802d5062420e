// Compiles the configured routes and policy mode into the ordered rule list the RouteTable matches:
// host sets, one path matcher per rule (regexes compiled once), methods, requirements, and the
// catch-all rule a whitelist or blacklist mode appends. Runs once at start-up; throws on a config
// that parseConfig would have rejected (a programming error, not a user one).
//
// The policy modes are shorthands that compile to plain rules (first match wins):
//
//   policy: { mode: whitelist }              is the same as   policy: { mode: rules }
//   routes: [R1, ..., Rn]                                      routes: [R1', ..., Rn', D]
//
//   where Ri' is Ri with `auth: public` filled in when Ri does not write `auth`, and D is
//   `{ name: default, auth: required }`: no `match` (every host, path and method), every provider,
//   no requirements. Blacklist mode is the same with `auth: required` filled in and D =
//   `{ name: default, auth: public }`. In rules mode every route writes `auth` and nothing is
//   appended: a request no route matches gets no route (the gate denies it, route_not_found).
//
// Letter case: a rule that is not `auth: public` matches case-insensitively (ASCII), a public rule
// exactly, unless `match.caseSensitive` says otherwise: a path never falls to a looser rule because of
// letter case (Express and other case-insensitive upstreams serve `/Admin/y` as `/admin/y`). The
// pattern is folded here, once; the route table folds the request path at most once per match.
// Trailing slash, in the same spirit: a rule that is not `auth: public` also matches the path with
// one trailing slash toggled (Express 5 with `strict: false`, Rails and ASP.NET Core serve `/admin/`
// with the `/admin` handler); public rules match exactly. Prefix rules need nothing for it: `/api`
// already covers `/api` and `/api/...` alike.
// A rule whose methods list GET also matches HEAD, which most frameworks route to the GET handler.

import { compileTokenSource, type RouteTokenSource } from "./RouteTokenSource.ts";
import type { DefaultRequirementsConfig, PolicyConfig, RouteAuth, RouteConfig } from "../config/PortcullisConfig.ts";
import { DEFAULT_REMOVED_REQUEST_HEADERS } from "../config/removedRequestHeaders.ts";
import { compileRouteRegex, globSegments, type PathSegment } from "../config/routePathPattern.ts";
import { canonicalHost } from "./canonicalHost.ts";
import { foldAsciiCase } from "./foldAsciiCase.ts";
import { compileRequirements, type CompiledRequirements } from "./compileRequirements.ts";
import { compileDenials, type CompiledDenial } from "./compileDenials.ts";
import { compileRouteBinding, type RouteBinding } from "./compileRouteBinding.ts";
import { FORWARDED_CLIENT_CERT_HEADER } from "./parseForwardedClientCert.ts";
import { regexLiteralPrefix } from "./regexLiteralPrefix.ts";
import { compileRequestConditions, type ConditionOptions, type RequestConditions } from "./compileRequestConditions.ts";
import { compileRequestRequirement } from "./compileRequestRequirement.ts";
import type { Clock } from "../clock/Clock.ts";

/** What a request matched: the decision inputs the gate reads. */
export interface CompiledRoute {
  /** The route's name (a bounded metric label); `default` for the catch-all rule of a mode. */
  readonly name: string;
  /** Position in the configured `routes`; null for the catch-all rule of whitelist / blacklist mode. */
  readonly index: number | null;
  readonly auth: RouteAuth;
  /** Accepted providers, in configured order (browser login uses the first); empty = every provider. */
  readonly providers: readonly string[];
  /** null = nothing beyond a valid credential. */
  readonly requirements: CompiledRequirements | null;
  /**
   * Request headers removed before the upstream (policy list minus the route's forwarded ones; in a
   * config whose routes read client certificates, x-forwarded-client-cert too, unless the route
   * trusts the hop that sets it); routes that forward nothing share one array.
   */
  readonly removeRequestHeaders: readonly string[];
  /** Sender-constrained tokens and mTLS clients (compileRouteBinding.ts); null = nothing set. */
  readonly binding: RouteBinding | null;
  /** `mode: shadow`: evaluated and its would-be denial recorded, never deciding (see Gate). */
  readonly shadow?: boolean;
  /** Where the token is read when not from Authorization (routes[].tokenSource); absent = Authorization. */
  readonly tokenSource?: RouteTokenSource;
  /** Query parameters removed before the upstream (a query token source's); absent = none. */
  readonly removeQueryParameters?: readonly string[];
  /** A deny rule without `when`: every request the route matches is answered with it, before any credential. */
  readonly denyAll?: CompiledDenial;
  /** `require.request` (with the defaults'): failing it answers 403 request_condition_failed; absent = none. */
  readonly requestRequirement?: RequestConditions;
}

export type PathMatcher =
  | { readonly kind: "any" }
  | { readonly kind: "prefix"; readonly base: string; readonly baseWithSlash: string }
  | { readonly kind: "exact"; readonly path: string }
  /** `prefix`: literal text every match starts with, checked before the glob or regex runs. */
  | { readonly kind: "glob"; readonly segments: readonly PathSegment[]; readonly prefix: string }
  | { readonly kind: "regex"; readonly regex: RegExp; readonly prefix: string };

/** One rule ready for matching. */
export interface CompiledRule {
  readonly route: CompiledRoute;
  /** Canonical exact host names; null = any host (no host configured). */
  readonly exactHosts: ReadonlySet<string> | null;
  /** Wildcard suffixes with their leading dot, e.g. ".example.com" for "*.example.com". */
  readonly hostSuffixes: readonly string[];
  readonly path: PathMatcher;
  /** The first path segment every matching path has (`api` for `/api/...`); null = not fixed. */
  readonly firstSegment: string | null;
  /** Upper-case method names (HEAD added when GET is listed); null = any method. */
  readonly methods: ReadonlySet<string> | null;
  /** Match the ASCII-case-folded path: the matcher's literals are folded and a regex ignores case. */
  readonly caseInsensitive: boolean;
  /** Also match the path with one trailing slash toggled (a rule that is not public, when it can differ). */
  readonly trailingSlashToggled: boolean;
  /** Header, query, source-address, SNI and time tests (compileRequestConditions.ts); absent = none, no work per request. */
  readonly conditions?: RequestConditions;
}

/** Name of the catch-all rule that whitelist and blacklist mode append. */
export const DEFAULT_RULE_NAME = "default";

const MODE_DEFAULT_AUTH: Readonly<Record<PolicyConfig["mode"], RouteAuth | null>> = {
  rules: null,
  whitelist: "public",
  blacklist: "required",
};
const CATCH_ALL_AUTH: Readonly<Record<PolicyConfig["mode"], RouteAuth | null>> = {
  rules: null,
  whitelist: "required",
  blacklist: "public",
};

/** What compiling a route list needs from the rest of the config. */
export interface RouteCompileOptions {
  /** Some provider's `boundTokens` is mtls or any: routes that demand nothing themselves read certificates. */
  readonly providersDemandCertificates?: boolean;
  /** What `time` conditions read; default the system clock. */
  readonly clock?: Clock;
}

export function compileRoutes(
  routes: readonly RouteConfig[],
  policy: PolicyConfig = { mode: "rules" },
  options: RouteCompileOptions = {},
): readonly CompiledRule[] {
  const policyRemoved = policy.removeRequestHeaders ?? DEFAULT_REMOVED_REQUEST_HEADERS;
  const bindings = routes.map(compileRouteBinding);
  const providersDemand = options.providersDemandCertificates === true;
  // Where routes read client certificates, a client's own x-forwarded-client-cert would read, at an
  // upstream, as a certificate it never presented: removed everywhere but on routes that trust the
  // proxy which sets it. (Elsewhere Envoy's default forward_client_cert_details drops it, and the
  // header stays out of allowed_headers: app/clientCertificateUse.ts decides both alike.)
  const removed =
    bindings.some((binding) => readsCertificates(binding, providersDemand)) &&
    !policyRemoved.includes(FORWARDED_CLIENT_CERT_HEADER)
      ? Object.freeze([...policyRemoved, FORWARDED_CLIENT_CERT_HEADER])
      : policyRemoved;
  const defaults = policy.defaults?.require ?? null;
  const conditions: ConditionOptions = {
    ...(options.clock === undefined ? {} : { clock: options.clock }),
    trustedForwardedHops: policy.trustedForwardedHops ?? 0,
  };
  const compiled = routes.map((route, index) =>
    compileRule(route, index, MODE_DEFAULT_AUTH[policy.mode], removed, bindings[index] ?? null, defaults, conditions),
  );
  const catchAll = CATCH_ALL_AUTH[policy.mode];
  if (catchAll !== null) {
    compiled.push({
      route: {
        name: DEFAULT_RULE_NAME,
        index: null,
        auth: catchAll,
        providers: [],
        // The whitelist catch-all is a rule that is not public: the policy defaults hold on it too.
        requirements: catchAll === "public" ? null : compileRequirements(undefined, defaults),
        removeRequestHeaders: removed,
        binding: null,
        ...requestRequirementOf(
          catchAll === "public" ? null : compileRequestRequirement(undefined, defaults?.request, conditions),
        ),
      },
      exactHosts: null,
      hostSuffixes: [],
      path: { kind: "any" },
      firstSegment: null,
      methods: null,
      caseInsensitive: false,
      trailingSlashToggled: false,
    });
  }
  return compiled;
}

function compileRule(
  route: RouteConfig,
  index: number,
  defaultAuth: RouteAuth | null,
  removed: readonly string[],
  binding: RouteBinding | null,
  defaults: DefaultRequirementsConfig | null,
  conditionOptions: ConditionOptions,
): CompiledRule {
  const auth = route.auth ?? defaultAuth;
  if (auth === null) throw new Error(`routes[${index}].auth: required in rules mode`);
  const denials = compileDenials(route.deny, conditionOptions);
  const applied = auth === "public" || route.defaults === false ? null : defaults;
  const exact = new Set<string>();
  const suffixes: string[] = [];
  for (const raw of route.match.hosts) {
    const host = raw.toLowerCase();
    if (host.startsWith("*.")) suffixes.push(host.slice(1));
    else exact.add(canonicalHost(host));
  }
  const methods = (route.match.methods ?? []).map((m) => m.toUpperCase());
  if (methods.includes("GET") && !methods.includes("HEAD")) methods.push("HEAD");
  const caseSensitive = route.match.caseSensitive ?? auth === "public";
  const forwarded =
    binding?.trustForwardedClientCert === true
      ? [...(route.forwardRequestHeaders ?? []), FORWARDED_CLIENT_CERT_HEADER]
      : (route.forwardRequestHeaders ?? []);
  const path = compilePath(route, index, !caseSensitive);
  const conditions = compileRequestConditions(route.match, conditionOptions);
  const requestRequirement = compileRequestRequirement(route.require?.request, applied?.request, conditionOptions);
  const tokenSource = compileTokenSource(route);
  const kept = forwarded.length === 0 ? removed : removed.filter((name) => !forwarded.includes(name));
  // Headers of the route's own that only Portcullis may fill: a header token source's (it never
  // reaches the upstream, like Authorization) and forwardToken's (a client's copy never passes for
  // the token Portcullis forwards, whatever the answer: anonymous, or no token of that kind).
  const own = [
    ...(tokenSource?.kind === "header" ? [tokenSource.name] : []),
    ...(route.forwardToken?.enabled === true && !kept.includes(route.forwardToken.header)
      ? [route.forwardToken.header]
      : []),
  ];
  return {
    route: {
      name: route.name,
      index,
      auth,
      providers: route.providers,
      requirements: compileRequirements(route.require, applied, denials.conditional),
      removeRequestHeaders: own.length > 0 ? Object.freeze([...kept, ...own]) : kept,
      binding,
      ...(route.mode === "shadow" ? { shadow: true } : {}),
      ...(tokenSource === undefined ? {} : { tokenSource }),
      ...(tokenSource?.kind === "query" ? { removeQueryParameters: Object.freeze([tokenSource.name]) } : {}),
      ...(denials.always !== null ? { denyAll: denials.always } : {}),
      ...requestRequirementOf(requestRequirement),
    },
    exactHosts: route.match.hosts.length === 0 ? null : exact,
    hostSuffixes: suffixes,
    path,
    firstSegment: firstSegmentOf(path),
    methods: methods.length === 0 ? null : new Set(methods),
    // Every path is every path in any case: no need to fold the request path for it.
    caseInsensitive: !caseSensitive && path.kind !== "any",
    // A prefix or every-path matcher accepts a path exactly when it accepts the toggled one.
    trailingSlashToggled: auth !== "public" && path.kind !== "any" && path.kind !== "prefix",
    ...(conditions === null ? {} : { conditions }),
  };
}

const requestRequirementOf = (test: RequestConditions | null) => (test === null ? {} : { requestRequirement: test });

/**
 * A route that reads a client certificate: for a bound token it (or, when it says nothing, a
 * provider) demands, a client it admits, a hop it trusts.
 */
function readsCertificates(binding: RouteBinding | null, providersDemand: boolean): boolean {
  const demand = binding?.boundTokens ?? null;
  if (demand === null ? providersDemand : demand === "mtls" || demand === "any") return true;
  return binding !== null && (binding.trustForwardedClientCert || binding.clients.length > 0);
}

/** The path matcher; with `fold`, every literal in it is ASCII-case-folded and a regex ignores case. */
function compilePath(route: RouteConfig, index: number, fold: boolean): PathMatcher {
  const { path, pathExact, pathGlob, pathRegex } = route.match;
  const f = fold ? foldAsciiCase : (s: string) => s;
  const forms = [path, pathExact, pathGlob, pathRegex].filter((p) => typeof p === "string");
  if (forms.length > 1) throw new Error(`routes[${index}].match: more than one path form`);
  if (typeof pathRegex === "string") {
    const literal = regexLiteralPrefix(pathRegex);
    if (literal.complete) return { kind: "exact", path: f(literal.prefix) };
    return { kind: "regex", regex: compileRouteRegex(pathRegex, fold ? "i" : ""), prefix: f(literal.prefix) };
  }
  if (typeof pathExact === "string") return { kind: "exact", path: f(pathExact) };
  if (typeof pathGlob === "string") {
    const parsed = globSegments(pathGlob);
    if (typeof parsed === "string") throw new Error(`routes[${index}].match.pathGlob: ${parsed}`);
    const segments = parsed.map((s): PathSegment =>
      s.kind === "literal" ? { kind: "literal", value: f(s.value) } : s,
    );
    if (segments.length === 1 && segments[0]?.kind === "any") return { kind: "any" };
    if (segments.every((s) => s.kind === "literal")) return { kind: "exact", path: f(pathGlob) };
    return { kind: "glob", segments, prefix: globPrefix(segments) };
  }
  if (typeof path === "string") {
    // A trailing slash in a prefix is not significant: `/api/` and `/api` both mean "the /api
    // segment and everything under it" (the parser rejects it; hand-built configs may have it).
    const base = f(path.replace(/\/+$/, ""));
    return base === "" ? { kind: "any" } : { kind: "prefix", base, baseWithSlash: `${base}/` };
  }
  return { kind: "any" };
}

// Literal text before the first wildcard: `/files/` for `/files/*/meta`, `/tree` for `/tree/**`.
function globPrefix(segments: readonly PathSegment[]): string {
  let prefix = "";
  for (const segment of segments) {
    if (segment.kind === "literal") prefix += `/${segment.value}`;
    // `*` needs a segment, so its slash is certain; `**` may match nothing, so it adds none.
    else return segment.kind === "one" ? `${prefix}/` : prefix;
  }
  return prefix;
}

/** The first segment every path the matcher accepts has, or null when it varies. */
function firstSegmentOf(matcher: PathMatcher): string | null {
  if (matcher.kind === "glob") return matcher.segments[0]?.kind === "literal" ? matcher.segments[0].value : null;
  const literal =
    matcher.kind === "prefix"
      ? matcher.baseWithSlash
      : matcher.kind === "exact"
        ? `${matcher.path}/`
        : matcher.kind === "any"
          ? ""
          : matcher.prefix;
  const end = literal.indexOf("/", 1);
  return end === -1 ? null : literal.slice(1, end);
}
