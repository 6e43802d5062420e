// A new API key for a legacy client and its entry for `apiKeys.file` or `apiKeys.keys`: 32 random bytes
// as base64url (43 characters, within the lookup's limit) and the entry holding only its SHA-256
// digest, checked by the same schema node as the config's entries. The key is returned once and
// kept nowhere.
import { createHash, randomBytes } from "node:crypto";
import { apiKeyNode } from "../config/apiKeysSchema.ts";
import type { ConfigIssue } from "../config/ConfigIssue.ts";
import { formatIssue } from "../config/ConfigIssue.ts";
import { INVALID, parseWithSchema } from "../config/parseWithSchema.ts";
import type { ApiKeyEntry } from "../config/readApiKeyFile.ts";

export interface ApiKeyRequest {
  readonly clientId: string;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
}

export type NewApiKey =
  | { readonly ok: true; readonly key: string; readonly entry: ApiKeyEntry }
  | { readonly ok: false; readonly problems: readonly string[] };

const KEY_BYTES = 32;

export function createApiKeyEntry(request: ApiKeyRequest, random: (size: number) => Buffer = randomBytes): NewApiKey {
  const key = random(KEY_BYTES).toString("base64url");
  const sha256 = createHash("sha256").update(key, "utf8").digest("hex");
  const problems: ConfigIssue[] = [];
  const entry = parseWithSchema(
    apiKeyNode,
    { clientId: request.clientId, sha256, scopes: [...request.scopes], roles: [...request.roles] },
    { problems, secretPaths: new Set() },
  );
  if (entry === INVALID || problems.length > 0) return { ok: false, problems: problems.map(formatIssue) };
  return { ok: true, key, entry };
}
