// The supervisor's workers: forks them with node:cluster (worker 1 first when a port is 0, so the
// others share the port it was given), starts a dead one again with a back-off, asks them questions
// over IPC, and stops them all. A worker that dies before listening during the first start fails the
// start: a worker that cannot bind will not bind on a retry either.
import cluster, { type Worker } from "node:cluster";
import { fileURLToPath } from "node:url";
import type { Logger } from "pino";
import {
  isFromWorker,
  WORKER_PLACE_VARIABLE,
  type FromWorker,
  type ToWorker,
  type WorkerMetrics,
  type WorkerReadiness,
} from "./workerMessages.ts";

/** A worker that lived this long before dying is restarted at once; quicker deaths double the wait. */
const STABLE_AFTER_MS = 30_000;
const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 10_000;
/** A worker started again listens once its keys are loaded, or after this long (an IdP down then). */
const RESTART_WAIT_READY_MS = 30_000;
/** A worker that does not answer by then is counted as not answering (busy or hung). */
const ASK_TIMEOUT_MS = 2_000;

interface Slot {
  readonly id: number;
  worker: Worker | null;
  listening: boolean;
  startedAt: number;
  quickDeaths: number;
  /** How many times this slot's worker was started: tells a restarted worker's answers from its predecessor's. */
  generation: number;
  restart: NodeJS.Timeout | null;
  exitCode: number | null;
}

export interface WorkerPoolOptions {
  readonly file: string;
  readonly workers: number;
  readonly grpcPort: number;
  readonly authPort: number;
  readonly logger: Logger;
}

export interface WorkerPool {
  /** Resolves with the shared ports once every worker listens; rejects if one dies before it does. */
  readonly started: Promise<{ grpcPort: number; authPort: number }>;
  /** Workers listening now (alive and serving), and restarts so far. */
  counts(): { configured: number; listening: number; restarts: number };
  broadcast(message: ToWorker): void;
  /** Every slot, with the generation of its worker and its answer (null: not running, or no answer in time). */
  ask(what: "metrics"): Promise<Array<{ id: number; generation: number; metrics: WorkerMetrics | null }>>;
  ask(what: "readiness"): Promise<Array<{ id: number; generation: number; readiness: WorkerReadiness | null }>>;
  /** Drains every worker (a second call ends their drains); resolves true when all exited with 0. */
  stop(): Promise<boolean>;
}

const workerEntry = fileURLToPath(
  new URL(`./workerMain${import.meta.url.endsWith(".ts") ? ".ts" : ".js"}`, import.meta.url),
);

export function startWorkerPool(options: WorkerPoolOptions): WorkerPool {
  cluster.setupPrimary({ exec: workerEntry, args: [] });
  return new ClusterWorkerPool(options);
}

function newSlot(id: number): Slot {
  return {
    id,
    worker: null,
    listening: false,
    startedAt: 0,
    quickDeaths: 0,
    generation: 0,
    restart: null,
    exitCode: null,
  };
}

class ClusterWorkerPool implements WorkerPool {
  readonly started: Promise<{ grpcPort: number; authPort: number }>;
  readonly #options: WorkerPoolOptions;
  readonly #slots: Slot[];
  readonly #ports: { grpcPort: number; authPort: number };
  readonly #answers = new Map<number, (slotId: number, message: FromWorker) => void>();
  #nextQuestion = 1;
  #restarts = 0;
  #stopping: Promise<boolean> | null = null;
  #resolveStopped: (ok: boolean) => void = () => undefined;
  #startDone = false;
  // With both ports fixed every worker starts at once; with a 0, the rest wait for worker 1's ports.
  #restForked: boolean;
  #resolveStart: (value: { grpcPort: number; authPort: number }) => void = () => undefined;
  #rejectStart: (error: Error) => void = () => undefined;

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#slots = Array.from({ length: options.workers }, (_, i) => newSlot(i + 1));
    this.#ports = { grpcPort: options.grpcPort, authPort: options.authPort };
    this.#restForked = options.grpcPort !== 0 && options.authPort !== 0;
    this.started = new Promise((resolve, reject) => {
      this.#resolveStart = resolve;
      this.#rejectStart = reject;
    });
    this.#fork(this.#slots[0] as Slot);
    if (this.#restForked) for (const slot of this.#slots.slice(1)) this.#fork(slot);
  }

  counts(): { configured: number; listening: number; restarts: number } {
    const listening = this.#slots.filter((s) => s.listening).length;
    return { configured: this.#slots.length, listening, restarts: this.#restarts };
  }

  broadcast(message: ToWorker): void {
    for (const slot of this.#slots) if (slot.worker?.isConnected()) slot.worker.send(message);
  }

  ask(what: "metrics"): Promise<Array<{ id: number; generation: number; metrics: WorkerMetrics | null }>>;
  ask(what: "readiness"): Promise<Array<{ id: number; generation: number; readiness: WorkerReadiness | null }>>;
  ask(what: "metrics" | "readiness"): Promise<Array<{ id: number } & Record<string, unknown>>> {
    const asked = this.#slots.filter((s) => s.worker !== null && s.listening && s.worker.isConnected());
    const id = this.#nextQuestion++;
    return new Promise((resolve) => {
      const got = new Map<number, Record<string, unknown>>();
      const finish = () => {
        clearTimeout(timer);
        this.#answers.delete(id);
        const answer = (s: Slot) => (asked.includes(s) ? (got.get(s.id)?.[what] ?? null) : null);
        resolve(this.#slots.map((s) => ({ id: s.id, generation: s.generation, [what]: answer(s) })));
      };
      const timer = setTimeout(finish, ASK_TIMEOUT_MS);
      this.#answers.set(id, (slotId, message) => {
        got.set(slotId, message as unknown as Record<string, unknown>);
        if (got.size === asked.length) finish();
      });
      if (asked.length === 0) finish();
      for (const slot of asked) slot.worker?.send({ portcullis: "ask", id, what } satisfies ToWorker);
    });
  }

  stop(): Promise<boolean> {
    const hurry = this.#stopping !== null;
    if (this.#stopping === null) {
      this.#stopping = new Promise<boolean>((resolve) => {
        this.#resolveStopped = resolve;
      });
      for (const slot of this.#slots) {
        if (slot.restart !== null) clearTimeout(slot.restart);
        slot.restart = null;
      }
      this.#settleStop();
    }
    for (const slot of this.#slots) {
      if (slot.worker?.isConnected()) slot.worker.send({ portcullis: "stop", hurry } satisfies ToWorker);
    }
    return this.#stopping;
  }

  #settleStop(): void {
    if (this.#slots.every((s) => s.worker === null)) this.#resolveStopped(this.#slots.every((s) => s.exitCode === 0));
  }

  #fork(slot: Slot): void {
    slot.restart = null;
    slot.listening = false;
    slot.startedAt = Date.now();
    slot.generation += 1;
    const again = this.#startDone ? { waitReadyMs: RESTART_WAIT_READY_MS } : {};
    const place = { id: slot.id, file: this.#options.file, ...this.#ports, ...again };
    const worker = cluster.fork({ [WORKER_PLACE_VARIABLE]: JSON.stringify(place) });
    slot.worker = worker;
    worker.on("message", (message: unknown) => {
      if (!isFromWorker(message)) return;
      if (message.portcullis === "listening") this.#onListening(slot, message.grpcPort, message.authPort);
      else this.#answers.get(message.id)?.(slot.id, message);
    });
    worker.on("exit", (code, signal) => this.#onExit(slot, worker, code, signal));
  }

  #onListening(slot: Slot, grpcPort: number, authPort: number): void {
    slot.listening = true;
    if (this.#startDone) return;
    if (!this.#restForked) {
      this.#restForked = true;
      // Worker 1 was given the config's ports; a 0 became a real port, which the rest now share.
      this.#ports.grpcPort = grpcPort;
      this.#ports.authPort = authPort;
      for (const other of this.#slots.slice(1)) this.#fork(other);
    }
    if (this.#slots.every((s) => s.listening)) {
      this.#startDone = true;
      this.#resolveStart({ ...this.#ports });
    }
  }

  #onExit(slot: Slot, worker: Worker, code: number | null, signal: string | null): void {
    if (slot.worker !== worker) return;
    slot.worker = null;
    slot.listening = false;
    slot.exitCode = signal !== null ? 1 : (code ?? 1);
    if (this.#stopping !== null) return this.#settleStop();
    if (!this.#startDone) {
      this.#startDone = true;
      this.#rejectStart(new Error(`worker ${slot.id} exited before listening (code ${code}, signal ${signal})`));
      return;
    }
    const lived = Date.now() - slot.startedAt;
    slot.quickDeaths = lived >= STABLE_AFTER_MS ? 0 : slot.quickDeaths + 1;
    const delay = slot.quickDeaths === 0 ? 0 : Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** (slot.quickDeaths - 1));
    this.#options.logger.warn(
      { worker: slot.id, pid: worker.process.pid, code, signal, restartInMs: delay },
      "worker exited; starting it again",
    );
    this.#restarts += 1;
    slot.restart = setTimeout(() => this.#fork(slot), delay);
  }
}
