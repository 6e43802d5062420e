// A provider's key set from its `staticKeys` (inline JWK Set, a JWK Set file, or PEM public-key
// files) for an issuer that publishes no discovery document. Read the way a JWKS is fetched, so the
// same refresh, unknown-kid cooldown and key-drop eviction apply: a file rotated on disk is picked
// up without a restart. Errors name the file, never its contents; a private key is refused.
import { createPublicKey } from "node:crypto";
import { open } from "node:fs/promises";
import type { JSONWebKeySet } from "jose";
import { BoundedFetchError, MAX_IDP_RESPONSE_BYTES } from "./boundedFetch.ts";
import { keepUsableMembers } from "./createJwksFetch.ts";
import { describeLoadError } from "./mapVerifyError.ts";
import type { ProviderLoading, ProviderState } from "./ProviderState.ts";

export function createStaticKeysFetch(state: ProviderState, loading: ProviderLoading): () => Promise<JSONWebKeySet> {
  const { name } = state.config;
  return async () => {
    try {
      return keepUsableMembers(state, loading, await readStaticKeySet(state.config.staticKeys));
    } catch (err) {
      loading.observer?.jwksFetch(name, "error");
      state.lastError = `jwks: ${describeLoadError(err)}`;
      throw err;
    }
  };
}

type StaticKeys = ProviderState["config"]["staticKeys"];

/** The configured keys as a JWK Set document (not yet checked member by member). */
async function readStaticKeySet(keys: StaticKeys): Promise<unknown> {
  if (keys === undefined) throw new BoundedFetchError("staticKeys names no keys");
  if (keys.jwks !== null) return parseJwks(keys.jwks, "staticKeys.jwks");
  if (keys.jwksFile !== null) return parseJwks(await readBounded(keys.jwksFile), `file ${keys.jwksFile}`);
  if (keys.pem !== null) {
    const members = [];
    for (const entry of keys.pem) members.push(pemToJwk(await readBounded(entry.file), entry.file, entry.kid));
    return { keys: members };
  }
  throw new BoundedFetchError("staticKeys names no keys");
}

function parseJwks(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new BoundedFetchError(`JWK Set in ${where} is not JSON`);
  }
}

function pemToJwk(text: string, file: string, kid: string | null): Record<string, unknown> {
  // A private key would import (Node derives the public half) but has no business in a config.
  if (/PRIVATE KEY-----/.test(text)) throw new BoundedFetchError(`PEM file ${file} holds a private key`);
  let jwk;
  try {
    jwk = createPublicKey(text).export({ format: "jwk" }) as Record<string, unknown>;
  } catch {
    throw new BoundedFetchError(`PEM file ${file} holds no public key or certificate Node can read`);
  }
  return kid === null ? jwk : { ...jwk, kid };
}

/** The file as UTF-8, refused beyond the size a fetched key set may have. */
async function readBounded(path: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new BoundedFetchError(`cannot read ${path}${typeof code === "string" ? ` (${code})` : ""}`);
  }
  try {
    const buffer = Buffer.alloc(MAX_IDP_RESPONSE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_IDP_RESPONSE_BYTES)
      throw new BoundedFetchError(`${path} is larger than ${MAX_IDP_RESPONSE_BYTES} bytes`);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } finally {
    await handle.close();
  }
}
