// Check requests and Gates for the Gate's unit tests: a request as the ext_authz adapter builds
// it, and a Gate over a route table whose verifier answers from a table of bearer tokens (real
// verification is covered by the oidc and e2e tests).
import type { Clock } from "../../src/clock/Clock.ts";
import type { IdentityConfig, PolicyConfig, RouteConfig } from "../../src/config/PortcullisConfig.ts";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import type { BoundTokens } from "../../src/core/compileRouteBinding.ts";
import { createTokenBinding } from "../../src/core/createTokenBinding.ts";
import { Gate, type GateDependencies, type VerifyOutcome } from "../../src/core/Gate.ts";
import { normalizePath } from "../../src/core/normalizePath.ts";
import { RouteTable } from "../../src/core/RouteTable.ts";
import { createIdentityHeaders } from "../../src/identity/IdentityHeaders.ts";
import type { SessionPort } from "../../src/login/SessionPort.ts";
import { PLAIN_IDENTITY } from "./plainIdentityConfig.ts";

/** `GET https://app.example.com{path}` with these headers; `over` replaces any other field. */
export function checkRequest(
  path: string,
  headers: Record<string, string> = {},
  over: Partial<AccessRequest> = {},
): AccessRequest {
  return {
    requestId: "r",
    method: "GET",
    scheme: "https",
    host: "app.example.com",
    path,
    headers: new Map(Object.entries(headers)),
    ...over,
  };
}

export interface TestGateOptions {
  readonly routes: readonly RouteConfig[];
  readonly policy?: PolicyConfig;
  /** Default: the normaliser with no extra path shapes allowed. */
  readonly normalizePath?: GateDependencies["normalizePath"];
  /** Default: PLAIN_IDENTITY. */
  readonly identity?: IdentityConfig;
  /** The verifier's answer per bearer token (an Error is thrown); any other token fails its signature. */
  readonly tokens?: Readonly<Record<string, VerifyOutcome | Error>>;
  /**
   * A token cache in front of the verifier, as ProviderRegistry's: a token verify() accepted once is
   * answered by verifyCached (from the table as it is then) on its later checks. Default: none.
   */
  readonly tokenCache?: boolean;
  readonly sessions?: SessionPort;
  readonly clock?: Clock;
  /** Default: the Gate's own (client certificates checked, DPoP-bound tokens refused). */
  readonly binding?: GateDependencies["binding"];
  /**
   * Each provider's `boundTokens`, as a config gives them: the Gate's binding and the route table
   * (which removes x-forwarded-client-cert where certificates are read) both follow it. Default: none.
   */
  readonly providerBoundTokens?: Readonly<Record<string, BoundTokens>>;
  /** The revocation list bearer tokens meet (back-channel logouts). Default: none. */
  readonly revocations?: GateDependencies["revocations"];
  /** The dynamic metadata of allowed answers (identity.metadata). Default: none. */
  readonly metadata?: GateDependencies["metadata"];
  /** Routes' response headers and denial bodies. Default: none. */
  readonly responseHeaders?: GateDependencies["responseHeaders"];
  readonly denialPages?: GateDependencies["denialPages"];
  /** Routes whose upstream gets the caller's token. Default: none. */
  readonly forwardTokens?: GateDependencies["forwardTokens"];
}

export interface TestGate {
  readonly gate: Gate;
  /** Every verifier call, in order. */
  readonly verifyCalls: Array<{ readonly token: string; readonly accepted: readonly string[] }>;
}

export function gateOver(options: TestGateOptions): TestGate {
  const verifyCalls: Array<{ token: string; accepted: readonly string[] }> = [];
  const tokens = options.tokens ?? {};
  const accepted = new Set<string>();
  const outcomeOf = (token: string): VerifyOutcome | Error =>
    (Object.hasOwn(tokens, token) ? tokens[token] : undefined) ?? {
      ok: false,
      code: "signature_invalid",
      detail: "unknown test token",
    };
  const providerDemands = options.providerBoundTokens ?? {};
  const gate = new Gate({
    normalizePath: options.normalizePath ?? normalizePath,
    routes: new RouteTable([...options.routes], options.policy, {
      providersDemandCertificates: Object.values(providerDemands).some((d) => d === "mtls" || d === "any"),
      ...(options.clock !== undefined ? { clock: options.clock } : {}),
    }),
    identity: createIdentityHeaders(options.identity ?? PLAIN_IDENTITY),
    verifier: {
      async verify(token, providers) {
        verifyCalls.push({ token, accepted: providers });
        const outcome = outcomeOf(token);
        if (outcome instanceof Error) throw outcome;
        if (outcome.ok) accepted.add(token);
        return outcome;
      },
      ...(options.tokenCache === true
        ? {
            verifyCached(token: string): VerifyOutcome | undefined {
              const outcome = outcomeOf(token);
              return accepted.has(token) && !(outcome instanceof Error) ? outcome : undefined;
            },
          }
        : {}),
    },
    ...(options.sessions !== undefined ? { sessions: options.sessions } : {}),
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.revocations !== undefined ? { revocations: options.revocations } : {}),
    ...(options.metadata !== undefined ? { metadata: options.metadata } : {}),
    ...(options.responseHeaders !== undefined ? { responseHeaders: options.responseHeaders } : {}),
    ...(options.denialPages !== undefined ? { denialPages: options.denialPages } : {}),
    ...(options.forwardTokens !== undefined ? { forwardTokens: options.forwardTokens } : {}),
    ...(options.binding !== undefined
      ? { binding: options.binding }
      : options.providerBoundTokens !== undefined
        ? { binding: createTokenBinding({ providers: new Map(Object.entries(providerDemands)) }) }
        : {}),
  });
  return { gate, verifyCalls };
}
