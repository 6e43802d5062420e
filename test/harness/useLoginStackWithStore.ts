// A login stack (Envoy, Portcullis, the dev IdP) with `session.store` set to `store`, beside
// Chromium, for the e2e files that show one behaviour on both stores: Redis is started first for
// `redis`; after the file's tests the browser, the stack and then Redis are closed.
import { afterAll, beforeAll } from "vitest";
import type { StartedBrowser } from "./startBrowser.ts";
import { startRedis, type TestRedis } from "./startRedis.ts";
import { startStack, type Stack } from "./startStack.ts";
import { startWithBrowser, type StackWithBrowser } from "./startWithBrowser.ts";

export interface LoginStackWithStore {
  readonly stack: Stack;
  readonly browser: StartedBrowser;
  /** The stack's Redis (`redis` store); null for `cookie`. */
  readonly redis: TestRedis | null;
}

/** Registers the file's beforeAll/afterAll; the returned function gives what they started. */
export function useLoginStackWithStore(store: "cookie" | "redis"): () => LoginStackWithStore {
  let redis: TestRedis | null = null;
  let running: StackWithBrowser<Stack> | undefined;
  beforeAll(async () => {
    if (store === "redis") redis = await startRedis();
    const url = redis?.url;
    running = await startWithBrowser(() =>
      startStack({ login: true, session: { store }, ...(url !== undefined ? { config: { redis: { url } } } : {}) }),
    );
  }, 120_000);
  afterAll(async () => {
    await running?.close();
    await redis?.close();
  });
  return () => {
    if (running === undefined) throw new Error("the login stack has not started");
    return { stack: running.stack, browser: running.browser, redis };
  };
}
