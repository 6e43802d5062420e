// The end-to-end stack (test/harness/startStack.ts: Envoy, Portcullis `serve`, echo upstream) with
// a live Keycloak realm as its provider: imports its own copy of test/keycloak/portcullis-realm.json,
// points the `demo` provider at it (`preset: keycloak`, browser login with the web client), then
// tells Keycloak the stack's callback, post-logout and back-channel logout URLs, which exist only
// once the stack runs.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { importRealm } from "../harness/keycloakAdmin.ts";
import type { KeycloakConnection, KeycloakRealm } from "../harness/keycloakAdmin.ts";
import { startStack } from "../harness/startStack.ts";
import type { Stack, StackOptions } from "../harness/startStack.ts";
import { API_AUDIENCE, REALM_FILE, WEB_CLIENT } from "./portcullisRealm.ts";

/** The provider name startStack gives Portcullis's one provider (a metric label). */
export const PROVIDER = "demo";

export interface KeycloakStackOptions {
  readonly routes: readonly unknown[];
  /** Extra/overriding provider settings (e.g. introspection). */
  readonly provider?: Readonly<Record<string, unknown>>;
  readonly session?: StackOptions["session"];
  readonly config?: StackOptions["config"];
}

export interface KeycloakStack {
  readonly stack: Stack;
  readonly realm: KeycloakRealm;
  /** Portcullis's auth listener on loopback (plain http): where Keycloak posts logout tokens. */
  readonly authPort: number;
  close(): Promise<void>;
}

export async function startKeycloakStack(
  keycloak: KeycloakConnection,
  options: KeycloakStackOptions,
): Promise<KeycloakStack> {
  const realm = await importRealm(keycloak, REALM_FILE);
  let stack: Stack | undefined;
  try {
    stack = await startStack({
      login: true,
      routes: options.routes,
      provider: {
        // Keycloak's conventions: roles from realm_access.roles and resource_access.<clientId>.roles,
        // groups from groups, only typ Bearer tokens as access tokens, end-session logout.
        preset: "keycloak",
        issuer: realm.issuer,
        audiences: [API_AUDIENCE],
        clientId: WEB_CLIENT.clientId,
        clientSecret: WEB_CLIENT.secret,
        scopes: ["openid", "profile", "email"],
        // Keycloak on a loaded 2-core machine can take seconds per token call: wider than the
        // defaults, still below Envoy's ext_authz timeout in the stack.
        requestTimeoutMs: 5000,
        codeExchangeTimeoutMs: 15_000,
        ...options.provider,
      },
      ...(options.session === undefined ? {} : { session: options.session }),
      ...(options.config === undefined ? {} : { config: options.config }),
    });
    const authPort = await authListenerPort(stack);
    await realm.updateClient(WEB_CLIENT.clientId, {
      redirectUris: [`${stack.origin}/oauth2/callback`],
      attributes: {
        "post.logout.redirect.uris": `${stack.origin}/`,
        "backchannel.logout.url": `http://127.0.0.1:${authPort}/oauth2/backchannel_logout`,
      },
    });
    const started = stack;
    return {
      stack: started,
      realm,
      authPort,
      async close() {
        await started.close();
        await realm.remove().catch(() => undefined);
      },
    };
  } catch (error) {
    await stack?.close();
    await realm.remove().catch(() => undefined);
    throw error;
  }
}

/** The auth port from Portcullis's "portcullis ready" log line (the stack binds port 0). */
async function authListenerPort(stack: Stack): Promise<number> {
  const log = await readFile(join(stack.dir, "portcullis.log"), "utf8");
  for (const line of log.split("\n")) {
    if (!line.includes('"portcullis ready"')) continue;
    const port = (JSON.parse(line) as { authPort?: unknown }).authPort;
    if (typeof port === "number") return port;
  }
  throw new Error("no authPort in Portcullis's ready line");
}
