// oidc-provider ships no type declarations; this is the small surface the dev IdP uses.
// Loosely typed on purpose: the dev IdP is demo/test tooling, not part of the request path.

declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  export interface OidcClient {
    clientId: string;
    grantTypeAllowed(type: string): boolean;
  }

  export interface OidcGrant {
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: readonly string[]): void;
    addResourceScope(resource: string, scope: string): void;
    save(): Promise<string>;
  }

  /** The parts of a token model the dev IdP reads (AuthorizationCode, RefreshToken, AccessToken, ...). */
  export interface OidcTokenLike {
    accountId?: string;
    acr?: string;
    amr?: string[];
    authTime?: number;
    scopes?: Set<string>;
  }

  export interface OidcSession {
    accountId?: string;
    grantIdFor(clientId: string): string | undefined;
  }

  /** The Koa context oidc-provider runs its routes in, as far as the dev IdP looks at it. */
  export interface OidcContext {
    method: string;
    path: string;
    type: string;
    body: unknown;
    set(name: string, value: string): void;
    oidc?: {
      params?: Record<string, unknown>;
      client?: OidcClient;
      session?: OidcSession;
      acr?: string;
      result?: { consent?: { grantId?: string } };
      entities: Record<string, unknown>;
      provider: Provider;
    };
  }

  export interface InteractionDetails {
    uid: string;
    prompt: { name: string; reasons: string[]; details: Record<string, unknown> };
    params: Record<string, unknown>;
    session?: { accountId?: string };
    grantId?: string;
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    use(middleware: (ctx: OidcContext, next: () => Promise<void>) => Promise<void>): void;
    on(event: string, listener: (...args: unknown[]) => void): this;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: Record<string, unknown>,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
    readonly Client: { find(id: string): Promise<OidcClient | undefined> };
    readonly Grant: { find(id: string): Promise<OidcGrant | undefined> } & (new (
      fields: Record<string, unknown>,
    ) => OidcGrant);
    readonly AccessToken: new (fields: Record<string, unknown>) => OidcTokenLike & {
      save(): Promise<string>;
      /** Binds the token to a client certificate (cnf x5t#S256) or a DPoP key thumbprint (cnf jkt). */
      setThumbprint(kind: "x5t", certificate: import("node:crypto").X509Certificate): void;
    };
    readonly ResourceServer: new (identifier: string, data: Record<string, unknown>) => unknown;
    /** Adds a grant type to the token endpoint (the token exchange grant); `dupes`: parameters that may repeat. */
    registerGrantType(
      name: string,
      handler: (ctx: OidcContext) => Promise<void>,
      params: readonly string[],
      dupes?: readonly string[],
    ): void;
  }

  export interface InteractionCheck {
    readonly reason: string;
  }

  export interface InteractionPrompt {
    readonly name: string;
    readonly checks: InteractionCheck[];
  }

  /** OAuth errors a grant handler throws; oidc-provider answers them as RFC 6749 error responses. */
  export const errors: {
    readonly InvalidClient: new (description: string) => Error;
    readonly InvalidGrant: new (description: string) => Error;
    readonly InvalidRequest: new (description: string) => Error;
    readonly InvalidTarget: new (description: string) => Error;
  };

  export const interactionPolicy: {
    Check: new (
      reason: string,
      description: string,
      error: string,
      check: (ctx: OidcContext) => boolean | Promise<boolean>,
    ) => InteractionCheck;
    base(): InteractionPrompt[] & { get(name: string): InteractionPrompt | undefined };
  };

  export const errors: {
    SessionNotFound: new (...args: unknown[]) => Error;
  };

  export default Provider;
}
