// One generation's signed identity assertion: which routes add it (and for which audience), the
// signer over the process's keys, and the documents the auth listener publishes (JWKS, discovery),
// rendered once per key set. Null when no route adds an assertion: no key is made or read then.
import type { Logger } from "pino";
import type { Clock } from "../clock/Clock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import type { AssertionKeySet } from "../identity/AssertionKey.ts";
import { assertionRouteAudiences } from "../identity/assertionRouteAudiences.ts";
import { createAssertionSigner, type AssertionSigner } from "../identity/createAssertionSigner.ts";
import type { IdentityHeaders } from "../identity/IdentityHeaders.ts";
import { renderAssertionDocuments, type AssertionDocuments } from "../identity/renderAssertionDocuments.ts";
import { createAssertionKeyring, type AssertionKeyring } from "./createAssertionKeyring.ts";

export interface AssertionPipeline {
  readonly signer: AssertionSigner;
  /** Route name → audience, for the routes that add the assertion. */
  readonly audiences: ReadonlyMap<string, string>;
  /** The JWKS and discovery documents of the keys now; null while the keys are not loaded. */
  documents(): AssertionDocuments | null;
}

export interface AssertionPipelineOptions {
  /** The process's keyring; absent: one of this pipeline's own (tests, benchmarks). */
  readonly keyring?: AssertionKeyring | undefined;
  readonly logger: Logger;
  readonly clock: Clock;
}

export function createAssertionPipeline(
  config: PortcullisConfig,
  identity: Pick<IdentityHeaders, "roles" | "groups">,
  options: AssertionPipelineOptions,
): AssertionPipeline | null {
  const assertion = config.identity.assertion;
  const audiences = assertionRouteAudiences(config);
  if (assertion === undefined || audiences.size === 0) return null;
  const keyring = options.keyring ?? createAssertionKeyring(null, options.logger, options.clock);
  const keys = keyring.keysFor(config);
  const issuers = new Map(Object.values(config.providers).map((p) => [p.name, p.issuer]));
  const signer = createAssertionSigner({
    config: assertion,
    keys,
    now: () => options.clock.now(),
    issuerOf: (provider) => issuers.get(provider),
    roles: (claims, provider) => identity.roles(claims, provider),
    groups: (claims, provider) => identity.groups(claims, provider),
  });
  let rendered: { readonly keys: AssertionKeySet; readonly documents: AssertionDocuments } | null = null;
  return {
    signer,
    audiences,
    documents() {
      const now = keys();
      if (now === null) return null;
      if (rendered?.keys !== now) rendered = { keys: now, documents: renderAssertionDocuments(now, assertion.issuer) };
      return rendered.documents;
    },
  };
}
