// The decision pipeline, readable in one place: normalise the path → match a route → (public:
// allow) → extract the bearer token → verify it → build identity headers. Pure of transports;
// every outcome is a Decision value, and any unexpected fault becomes an internal_error denial.
import type { RouteConfig } from "../config/PortcullisConfig.ts";
import type { AccessRequest } from "./AccessRequest.ts";
import type { Decision, HeaderList } from "./Decision.ts";
import { deny, internalErrorDecision } from "./deny.ts";
import { extractBearerToken } from "./extractBearerToken.ts";
import { VerifierFault } from "../oidc/VerifierFault.ts";
import type { VerifyOutcome } from "../oidc/VerifyOutcome.ts";

export type { VerifyOutcome };

export interface GateDependencies {
  readonly normalizePath: (raw: string) => { ok: true; path: string } | { ok: false; reason: string };
  readonly routes: { match(host: string, path: string): RouteConfig | null };
  readonly verifier: { verify(token: string, accepted: readonly string[]): Promise<VerifyOutcome> };
  readonly identity: {
    readonly ownedHeaders: readonly string[];
    build(claims: Readonly<Record<string, unknown>>): ReadonlyArray<readonly [string, string]>;
  };
  /** Keep the client's Authorization header on an authenticated request (default: remove it). */
  readonly forwardAuthorization?: boolean;
}

export class Gate {
  readonly #deps: GateDependencies;
  /** Identity headers per verified claims object; the token cache hands back the same object, so
   * a cached token costs no rebuild, and entries go when the cache drops the claims. */
  readonly #headersByClaims = new WeakMap<object, { set: HeaderList; remove: readonly string[] }>();

  constructor(deps: GateDependencies) {
    this.#deps = deps;
  }

  async decide(request: AccessRequest): Promise<Decision> {
    let routeName: string | null = null;
    try {
      // 1. Normalise the path exactly as our Envoy configs do, before any rule sees it.
      const normalized = this.#deps.normalizePath(request.path);
      if (!normalized.ok) return deny("path_invalid", { route: null, detail: normalized.reason });

      // 2. First matching route wins; no route means deny.
      const route = this.#deps.routes.match(request.host, normalized.path);
      if (route === null) {
        return deny("route_not_found", { route: null, detail: `no route for host ${JSON.stringify(request.host)}` });
      }
      routeName = route.name;

      // 3. Public routes pass, with every owned header stripped so clients cannot inject identity.
      if (route.auth === "public") {
        return { kind: "allow", route: route.name, reason: "public", setHeaders: [], removeHeaders: this.#deps.identity.ownedHeaders };
      }

      // 4. Extract the bearer credential.
      const credential = extractBearerToken(request.headers.get("authorization"));
      if (credential.kind === "none") return deny("token_missing", { route: route.name });
      if (credential.kind === "malformed") {
        return deny("token_malformed", { route: route.name, detail: credential.detail });
      }

      // 5. Verify it against the providers this route accepts.
      const outcome = await this.#deps.verifier.verify(credential.token, route.providers);
      if (!outcome.ok) {
        return deny(outcome.code, {
          route: route.name,
          detail: outcome.detail,
          ...(outcome.provider !== undefined ? { provider: outcome.provider } : {}),
        });
      }

      // 6. Identity headers: set ours, remove every other owned header the client may have sent.
      const headers = this.#identityHeaders(outcome.claims);
      return {
        kind: "allow",
        route: route.name,
        reason: "authenticated",
        setHeaders: headers.set,
        removeHeaders: headers.remove,
        provider: outcome.provider,
      };
    } catch (fault) {
      return internalErrorDecision(routeName, describeFault(fault));
    }
  }

  #identityHeaders(claims: Readonly<Record<string, unknown>>): { set: HeaderList; remove: readonly string[] } {
    const hit = this.#headersByClaims.get(claims);
    if (hit) return hit;
    const set = this.#deps.identity.build(claims);
    // A header we set must not also be in the remove list (Envoy applies removals after the sets);
    // the overwrite already replaces any client-sent value.
    const setNames = new Set(set.map(([name]) => name));
    const remove = this.#deps.identity.ownedHeaders.filter((name) => !setNames.has(name));
    // The upstream gets the verified identity, not the credential: a token it never sees is a
    // token it cannot leak or replay.
    if (this.#deps.forwardAuthorization !== true) remove.push("authorization");
    const value = { set, remove };
    this.#headersByClaims.set(claims, value);
    return value;
  }
}

function describeFault(fault: unknown): string {
  // A VerifierFault's message is written to be log-safe, and so is its cause's class; any other
  // error gives class and code only: library messages may quote input, and input may be a token.
  if (fault instanceof VerifierFault) {
    const cause = fault.cause instanceof Error ? ` (cause: ${fault.cause.name})` : "";
    return `${fault.message}${cause}`;
  }
  if (fault instanceof Error) {
    const code = (fault as { code?: unknown }).code;
    return `unexpected ${fault.name}${typeof code === "string" ? ` (${code})` : ""}`;
  }
  return "unexpected non-error fault";
}
