// Where the keys that sign identity assertions come from, for the whole process (they outlive config
// reloads): a config's own `identity.assertion.keys`, else one key generated for the process, or,
// with Redis, generated once and held in Redis for every replica (SET NX: the first replica's key
// wins, the others read it), so every replica signs with and publishes the same key. Until that read
// succeeds the key is not loaded (assertions are refused, fail closed) and it is retried each second.
// The private key is never logged; Redis holds it as a private JWK, so protect Redis as a secret store.
import type { Logger } from "pino";
import type { Clock, ClockTimer } from "../clock/Clock.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import {
  configuredKeySet,
  exportAssertionKey,
  generateAssertionKey,
  readAssertionKey,
  type AssertionAlgorithm,
  type AssertionKeySet,
} from "../identity/AssertionKey.ts";
import type { RedisConnection } from "../session/createRedisConnection.ts";

export interface AssertionKeyring {
  /** The keys a config signs with: its own, else the process's generated (or shared) key; null while not loaded. */
  keysFor(config: PortcullisConfig): () => AssertionKeySet | null;
  close(): void;
}

/** The Redis key (after the configured prefix) holding the shared generated signing key. */
export const SHARED_ASSERTION_KEY = "assertion:signing-key";
const RETRY_MS = 1_000;

export function createAssertionKeyring(redis: RedisConnection | null, logger: Logger, clock: Clock): AssertionKeyring {
  let generated: AssertionKeySet | null = null;
  let loading = false;
  let retry: ClockTimer | null = null;
  let closed = false;

  /** Reads the shared key, writing ours first when there is none yet; retried until it succeeds. */
  async function loadShared(connection: RedisConnection, algorithm: AssertionAlgorithm): Promise<void> {
    const name = `${connection.prefix}${SHARED_ASSERTION_KEY}`;
    try {
      await connection.client.set(name, exportAssertionKey(generateAssertionKey(algorithm)), "NX");
      const stored = await connection.client.get(name);
      if (stored === null) throw new Error("the shared key vanished between SET NX and GET");
      const key = readAssertionKey(stored);
      generated = { signing: key, published: [key] };
      logger.info({ kid: key.kid, alg: key.alg }, "assertion signing key shared through Redis");
    } catch (error) {
      // The message of a failed read may quote the value: only its class is logged.
      logger.warn(
        { err: error instanceof Error ? error.name : "unknown" },
        "assertion signing key not read from Redis yet: assertions are refused until it is",
      );
      if (!closed) retry = clock.setTimeout(() => void loadShared(connection, algorithm), RETRY_MS);
    }
  }

  function generatedKeys(algorithm: AssertionAlgorithm): () => AssertionKeySet | null {
    if (generated === null && !loading) {
      loading = true;
      if (redis === null) {
        const key = generateAssertionKey(algorithm);
        generated = { signing: key, published: [key] };
        logger.info({ kid: key.kid, alg: key.alg }, "assertion signing key generated for this process");
      } else void loadShared(redis, algorithm);
    }
    return () => generated;
  }

  return {
    keysFor(config) {
      const assertion = config.identity.assertion;
      if (assertion === undefined) return () => null;
      const configured = configuredKeySet(assertion.keys);
      if (configured !== null) return () => configured;
      return generatedKeys(assertion.algorithm);
    },
    close() {
      closed = true;
      retry?.cancel();
    },
  };
}
