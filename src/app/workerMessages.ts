// The messages between the `serve --workers` supervisor and its workers over node:cluster's IPC
// channel, and how a worker learns its place (PORTCULLIS_WORKER: its id, the config file and the
// ports to share). Every message carries `portcullis` so other users of the channel are ignored.
import type { Registry } from "prom-client";

/** What a worker is started with, in its environment. */
export interface WorkerPlace {
  readonly id: number;
  readonly file: string;
  readonly grpcPort: number;
  readonly authPort: number;
  /** Set when the supervisor starts a worker again: listen only once ready, or after this long. */
  readonly waitReadyMs?: number;
}

export const WORKER_PLACE_VARIABLE = "PORTCULLIS_WORKER";

export type WorkerMetrics = Awaited<ReturnType<Registry["getMetricsAsJSON"]>>;

export interface WorkerReadiness {
  readonly notReady: string | null;
  readonly degraded: string | null;
}

export type ToWorker =
  | { readonly portcullis: "reload"; readonly trigger: "SIGHUP" | "file change" }
  /** hurry: the supervisor was signalled twice, so the drain ends now (in-flight checks still finish). */
  | { readonly portcullis: "stop"; readonly hurry: boolean }
  | { readonly portcullis: "ask"; readonly id: number; readonly what: "metrics" | "readiness" };

export type FromWorker =
  | { readonly portcullis: "listening"; readonly grpcPort: number; readonly authPort: number }
  | { readonly portcullis: "answer"; readonly id: number; readonly metrics: WorkerMetrics }
  | { readonly portcullis: "answer"; readonly id: number; readonly readiness: WorkerReadiness };

export function isToWorker(message: unknown): message is ToWorker {
  return typeof message === "object" && message !== null && "portcullis" in message;
}

export function isFromWorker(message: unknown): message is FromWorker {
  return typeof message === "object" && message !== null && "portcullis" in message;
}

export function readWorkerPlace(env: NodeJS.ProcessEnv): WorkerPlace | null {
  const text = env[WORKER_PLACE_VARIABLE];
  if (text === undefined) return null;
  const place = JSON.parse(text) as WorkerPlace;
  return place;
}
