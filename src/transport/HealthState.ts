// Serving status shared by grpc.health.v1, readiness and the shutdown sequence: NOT_SERVING until
// the process can decide, SERVING while up, NOT_SERVING again from SIGTERM on (checks are still
// answered during the drain), so Envoy's health checks steer traffic to replicas that will stay.
export type ServingStatus = "SERVING" | "NOT_SERVING";

export class HealthState {
  #status: ServingStatus;
  readonly #listeners = new Set<(status: ServingStatus) => void>();
  readonly #drainListeners = new Set<() => void>();
  #drained = false;

  constructor(initial: ServingStatus = "SERVING") {
    this.#status = initial;
  }

  get status(): ServingStatus {
    return this.#status;
  }

  set(status: ServingStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of this.#listeners) listener(status);
  }

  /** True once drain() ran: the server is closing, so a new Watch stream ends after its first status. */
  get drained(): boolean {
    return this.#drained;
  }

  /** The drain period is over and the server closes: NOT_SERVING, then every drain listener (Watch streams end). */
  drain(): void {
    this.#drained = true;
    this.set("NOT_SERVING");
    for (const listener of this.#drainListeners) listener();
    this.#drainListeners.clear();
  }

  onDrain(listener: () => void): () => void {
    this.#drainListeners.add(listener);
    return () => this.#drainListeners.delete(listener);
  }

  subscribe(listener: (status: ServingStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
