// What the tests know about test/keycloak/portcullis-realm.json, read from the file itself so the
// realm stays the one source of its client ids, test secrets, users and levels of authentication.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { KeycloakClientCredentials } from "../harness/keycloakAdmin.ts";

export const REALM_FILE = fileURLToPath(new URL("./portcullis-realm.json", import.meta.url));

interface RealmFile {
  readonly attributes: Readonly<Record<string, string>>;
  readonly clients: readonly { readonly clientId: string; readonly secret: string }[];
  readonly users: readonly {
    readonly username: string;
    readonly credentials?: readonly { readonly type: string; readonly value?: string; readonly secretData?: string }[];
  }[];
}

const realm = JSON.parse(readFileSync(REALM_FILE, "utf8")) as RealmFile;

function client(clientId: string): KeycloakClientCredentials {
  const found = realm.clients.find((c) => c.clientId === clientId);
  if (found === undefined) throw new Error(`${REALM_FILE} has no client ${clientId}`);
  return { clientId, secret: found.secret };
}

export interface RealmUser {
  readonly username: string;
  readonly password: string;
  /** The bytes of the user's TOTP secret (Keycloak keys its HMAC with the secret string's UTF-8). */
  readonly totpKey?: Buffer;
}

function user(username: string): RealmUser {
  const found = realm.users.find((u) => u.username === username);
  const password = found?.credentials?.find((c) => c.type === "password")?.value;
  if (password === undefined) throw new Error(`${REALM_FILE} has no user ${username} with a password`);
  const otp = found?.credentials?.find((c) => c.type === "otp")?.secretData;
  const secret = otp === undefined ? undefined : (JSON.parse(otp) as { value: string }).value;
  return { username, password, ...(secret === undefined ? {} : { totpKey: Buffer.from(secret, "utf8") }) };
}

/** The confidential browser-login client Portcullis uses (PKCE S256 required, back-channel logout). */
export const WEB_CLIENT = client("portcullis-web");
/** The machine caller: client credentials, a service account with the web client's role `batch.ingest`. */
export const BATCH_CLIENT = client("portcullis-batch");
/** Mints people's bearer tokens with the password grant (a test helper, never a production pattern). */
export const TESTS_CLIENT = client("portcullis-tests");
/** Like TESTS_CLIENT, but its access tokens are lightweight: only introspection tells their claims. */
export const LIGHTWEIGHT_CLIENT = client("portcullis-tests-lightweight");

/** Realm roles admin and user, the web client's role editor, group engineering, a TOTP credential. */
export const ALICE = user("alice");
/** Realm role user, group customers, no client role, no second factor. */
export const BOB = user("bob");

/** The audience every client's access tokens carry (an audience mapper on each client). */
export const API_AUDIENCE = "portcullis-api";

const loaMap = JSON.parse(realm.attributes["acr.loa.map"] ?? "{}") as Record<string, number>;
function acrOfLevel(level: number): string {
  const acr = Object.entries(loaMap).find(([, value]) => value === level)?.[0];
  if (acr === undefined) throw new Error(`${REALM_FILE}'s acr.loa.map has no level ${level}`);
  return acr;
}
/** The acr of a password login (level 1) and of a login with the one-time code (level 2). */
export const ACR_PASSWORD = acrOfLevel(1);
export const ACR_SECOND_FACTOR = acrOfLevel(2);
