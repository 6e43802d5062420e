// A test stack's temporary directory and cleanups: close() runs the cleanups last-registered first
// (the part started last stops first, e.g. Envoy before what it proxies to), ignoring each one's
// failure so every part is stopped, then removes the directory unless PORTCULLIS_KEEP_E2E_LOGS is set.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempScope {
  readonly dir: string;
  /** Registers a cleanup for close(). */
  defer(cleanup: () => Promise<unknown>): void;
  /** Runs every cleanup once; later calls wait for the first. */
  close(): Promise<void>;
}

export async function createTempScope(prefix: string): Promise<TempScope> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const cleanups: Array<() => Promise<unknown>> = [];
  let closing: Promise<void> | undefined;
  return {
    dir,
    defer(cleanup) {
      cleanups.push(cleanup);
    },
    close: () =>
      (closing ??= (async () => {
        for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
        if (process.env.PORTCULLIS_KEEP_E2E_LOGS === undefined) await rm(dir, { recursive: true, force: true });
      })()),
  };
}
