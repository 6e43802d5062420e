// A loopback port held by a placeholder until the part meant to use it is about to bind, so a
// test worker running alongside cannot be given the same port in between (free-then-bind races).
// The placeholder resets every connection: to a client it looks like a service that is down.

import { createServer } from "node:net";
import type { AddressInfo } from "node:net";

export interface ReservedPort {
  readonly port: number;
  /** Frees the port for its real user; idempotent. */
  release(): Promise<void>;
}

export async function reservePort(): Promise<ReservedPort> {
  const placeholder = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve, reject) => {
    placeholder.once("error", reject);
    placeholder.listen(0, "127.0.0.1", () => resolve());
  });
  let released: Promise<void> | undefined;
  return {
    port: (placeholder.address() as AddressInfo).port,
    release: () => (released ??= new Promise<void>((resolve) => placeholder.close(() => resolve()))),
  };
}
