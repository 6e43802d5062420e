// The dev IdP's token exchange (RFC 8693), which oidc-provider does not ship: a client allowed the
// grant exchanges an access token this IdP signed for a JWT access token to one of the audiences
// it may ask for, same `sub`; anything else is an OAuth error (invalid_grant, invalid_target).
import { createLocalJWKSet, jwtVerify } from "jose";
import { errors, type OidcContext, type Provider } from "oidc-provider";
import type { SigningJwk } from "./createSigningJwk.ts";
import type { DevIdpResourceServer } from "./createDevIdpProvider.ts";

export const TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token";

export interface DevIdpExchangeSettings {
  readonly issuer: string;
  readonly signingKeys: readonly SigningJwk[];
  readonly resourceServer: DevIdpResourceServer;
  /** Per client allowed the grant: the audiences it may exchange for. */
  readonly targets: Readonly<Record<string, readonly string[]>>;
}

export function registerDevIdpTokenExchange(provider: Provider, settings: DevIdpExchangeSettings): void {
  // Public halves only (the dev IdP's keys are RSA): the private parts of the signing JWKs never reach the verifier.
  const keys = createLocalJWKSet({
    keys: settings.signingKeys.map(({ kty, kid, alg, n, e }) => ({ kty, kid, alg, n, e })),
  });
  const handler = async (ctx: OidcContext): Promise<void> => {
    const params = ctx.oidc?.params ?? {};
    const client = ctx.oidc?.client;
    if (client === undefined) throw new errors.InvalidClient("client authentication failed");
    if (params["subject_token_type"] !== ACCESS_TOKEN_TYPE)
      throw new errors.InvalidRequest("subject_token_type must be an access token");
    const requested = params["requested_token_type"];
    if (requested !== undefined && requested !== ACCESS_TOKEN_TYPE)
      throw new errors.InvalidRequest("only access tokens are issued");
    const audiences = [params["audience"]].flat().filter((a): a is string => typeof a === "string");
    const allowed = settings.targets[client.clientId] ?? [];
    if (audiences.length !== 1 || !allowed.includes(audiences[0]!))
      throw new errors.InvalidTarget("the client may not exchange for this audience");
    let sub: unknown;
    try {
      ({
        payload: { sub },
      } = await jwtVerify(String(params["subject_token"]), keys, { issuer: settings.issuer }));
    } catch {
      throw new errors.InvalidGrant("subject_token is not a valid access token of this issuer");
    }
    if (typeof sub !== "string") throw new errors.InvalidGrant("subject_token has no sub");
    const audience = audiences[0]!;
    const token = new provider.AccessToken({
      accountId: sub,
      client,
      gty: "token_exchange",
      resourceServer: new provider.ResourceServer(`urn:portcullis:audience:${audience}`, {
        ...settings.resourceServer,
        audience,
        accessTokenFormat: "jwt",
      }),
    });
    ctx.body = {
      access_token: await token.save(),
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: "Bearer",
      expires_in: settings.resourceServer.accessTokenTTL,
    };
  };
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    handler,
    ["subject_token", "subject_token_type", "requested_token_type", "audience", "resource", "scope"],
    ["audience", "resource"],
  );
}
