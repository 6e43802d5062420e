// oidc-provider ships no type declarations; this is the small surface the dev IdP uses.
// Loosely typed on purpose: the dev IdP is demo/test tooling, not part of the request path.

declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  export interface OidcClient {
    clientId: string;
  }

  export class Provider {
    constructor(issuer: string, configuration: Record<string, unknown>);
    readonly issuer: string;
    proxy: boolean;
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: unknown[]) => void): this;
    readonly Client: { find(id: string): Promise<OidcClient | undefined> };
    readonly AccessToken: new (fields: Record<string, unknown>) => { save(): Promise<string> };
    readonly ResourceServer: new (identifier: string, data: Record<string, unknown>) => unknown;
  }

  export default Provider;
}
