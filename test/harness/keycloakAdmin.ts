// Talks to a running Keycloak for the tests: the admin REST API as the master realm's admin (its
// token renewed before it expires), a realm imported from a JSON file under a fresh name (so test
// files sharing one Keycloak never see each other's sessions), the few admin calls the tests make,
// and the token-endpoint grants they use. Every call has a timeout; errors name the call, never a secret.

import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { KeycloakAdminCredentials } from "./startKeycloak.ts";

export interface KeycloakConnection {
  readonly url: string;
  readonly admin: KeycloakAdminCredentials;
}

export interface KeycloakClientCredentials {
  readonly clientId: string;
  readonly secret: string;
}

export interface KeycloakTokens {
  readonly access_token: string;
  readonly refresh_token?: string;
  readonly id_token?: string;
  readonly expires_in: number;
  readonly scope?: string;
}

export interface KeycloakSessionInfo {
  readonly id: string;
  readonly clients: Readonly<Record<string, string>>;
}

export interface KeycloakRealm {
  readonly name: string;
  /** `<url>/realms/<name>`, exactly as Keycloak writes `iss`. */
  readonly issuer: string;
  readonly tokenEndpoint: string;
  /** Sets a client's redirect URIs and merges attributes into its own (by clientId). */
  updateClient(
    clientId: string,
    patch: { redirectUris?: readonly string[]; attributes?: Readonly<Record<string, string>> },
  ): Promise<void>;
  /** Keycloak's user id (the `sub` of the user's tokens). */
  userId(username: string): Promise<string>;
  userSessions(username: string): Promise<KeycloakSessionInfo[]>;
  /** The admin console's "Sign out" of a user: ends every session of the user. */
  logoutUser(username: string): Promise<void>;
  /** Ends one session (the admin console's session list → Sign out). */
  deleteSession(sessionId: string): Promise<void>;
  passwordGrant(
    client: KeycloakClientCredentials,
    username: string,
    password: string,
    scope?: string,
  ): Promise<KeycloakTokens>;
  clientCredentialsGrant(client: KeycloakClientCredentials, scope?: string): Promise<KeycloakTokens>;
  /** RFC 7009 revocation at Keycloak's revocation endpoint. */
  revoke(client: KeycloakClientCredentials, token: string, hint?: "access_token" | "refresh_token"): Promise<void>;
  remove(): Promise<void>;
}

const CALL_TIMEOUT_MS = 20_000;
/** A realm import creates keys, client scopes and flows: seconds when idle, far more on a loaded machine. */
const IMPORT_TIMEOUT_MS = 120_000;
/** Renew the admin token this long before it expires (master realm tokens last 60 s). */
const ADMIN_TOKEN_MARGIN_MS = 15_000;

export interface KeycloakAdminApi {
  request<T = unknown>(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T>;
}

/** `path` is below `<url>/admin/realms`; JSON in, JSON (or nothing) out; non-2xx throws. */
export function keycloakAdminApi(connection: KeycloakConnection): KeycloakAdminApi {
  let token: { value: string; until: number } | undefined;
  const adminToken = async (): Promise<string> => {
    if (token !== undefined && Date.now() < token.until) return token.value;
    const res = await postForm(`${connection.url}/realms/master/protocol/openid-connect/token`, {
      grant_type: "password",
      client_id: "admin-cli",
      username: connection.admin.username,
      password: connection.admin.password,
    });
    if (res.status !== 200) throw new Error(`Keycloak admin login answered ${res.status}`);
    const body = (await res.json()) as KeycloakTokens;
    token = { value: body.access_token, until: Date.now() + body.expires_in * 1000 - ADMIN_TOKEN_MARGIN_MS };
    return token.value;
  };
  return {
    async request<T>(method: string, path: string, body?: unknown, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
      const res = await fetch(`${connection.url}/admin/realms${path}`, {
        method,
        headers: {
          authorization: `Bearer ${await adminToken()}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await res.text();
      if (res.status < 200 || res.status > 299)
        throw new Error(`Keycloak admin ${method} ${path} answered ${res.status}: ${text.slice(0, 300)}`);
      return (text === "" ? undefined : JSON.parse(text)) as T;
    },
  };
}

/** Imports the realm in `file` as `<its name>-<random>`; the realm's own users, clients and flows. */
export async function importRealm(connection: KeycloakConnection, file: string): Promise<KeycloakRealm> {
  const representation = JSON.parse(await readFile(file, "utf8")) as { realm: string } & Record<string, unknown>;
  const name = `${representation.realm}-${randomBytes(4).toString("hex")}`;
  const api = keycloakAdminApi(connection);
  await api.request("POST", "", { ...representation, realm: name }, IMPORT_TIMEOUT_MS);
  const issuer = `${connection.url}/realms/${name}`;
  const oidc = `${issuer}/protocol/openid-connect`;
  const realmPath = `/${encodeURIComponent(name)}`;

  const clientUuid = async (clientId: string): Promise<string> => {
    const found = await api.request<{ id: string }[]>(
      "GET",
      `${realmPath}/clients?clientId=${encodeURIComponent(clientId)}`,
    );
    const id = found[0]?.id;
    if (id === undefined) throw new Error(`realm ${name} has no client ${clientId}`);
    return id;
  };
  const userId = async (username: string): Promise<string> => {
    const found = await api.request<{ id: string; username: string }[]>(
      "GET",
      `${realmPath}/users?exact=true&username=${encodeURIComponent(username)}`,
    );
    const id = found.find((u) => u.username === username)?.id;
    if (id === undefined) throw new Error(`realm ${name} has no user ${username}`);
    return id;
  };
  const grant = async (what: string, form: Record<string, string>): Promise<KeycloakTokens> => {
    const res = await postForm(`${oidc}/token`, form);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`Keycloak ${what} answered ${res.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as KeycloakTokens;
  };

  return {
    name,
    issuer,
    tokenEndpoint: `${oidc}/token`,
    async updateClient(clientId, patch) {
      const id = await clientUuid(clientId);
      const current = await api.request<{ attributes?: Record<string, string> } & Record<string, unknown>>(
        "GET",
        `${realmPath}/clients/${id}`,
      );
      await api.request("PUT", `${realmPath}/clients/${id}`, {
        ...current,
        ...(patch.redirectUris === undefined ? {} : { redirectUris: patch.redirectUris }),
        attributes: { ...current.attributes, ...patch.attributes },
      });
    },
    userId,
    async userSessions(username) {
      return api.request<KeycloakSessionInfo[]>("GET", `${realmPath}/users/${await userId(username)}/sessions`);
    },
    async logoutUser(username) {
      await api.request("POST", `${realmPath}/users/${await userId(username)}/logout`);
    },
    async deleteSession(sessionId) {
      await api.request("DELETE", `${realmPath}/sessions/${encodeURIComponent(sessionId)}`);
    },
    passwordGrant: (client, username, password, scope = "openid") =>
      grant("password grant", {
        grant_type: "password",
        client_id: client.clientId,
        client_secret: client.secret,
        username,
        password,
        scope,
      }),
    clientCredentialsGrant: (client, scope) =>
      grant("client credentials grant", {
        grant_type: "client_credentials",
        client_id: client.clientId,
        client_secret: client.secret,
        ...(scope === undefined ? {} : { scope }),
      }),
    async revoke(client, token, hint = "access_token") {
      const res = await postForm(`${oidc}/revoke`, {
        client_id: client.clientId,
        client_secret: client.secret,
        token,
        token_type_hint: hint,
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`Keycloak revocation answered ${res.status}`);
    },
    async remove() {
      await api.request("DELETE", realmPath);
    },
  };
}

function postForm(url: string, form: Record<string, string>): Promise<Response> {
  return fetch(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
    signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
  });
}
