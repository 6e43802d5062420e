// Serving status shared by grpc.health.v1 and the shutdown sequence: SERVING while up,
// NOT_SERVING once draining starts, so Envoy's health checks steer traffic away before exit.
export type ServingStatus = "SERVING" | "NOT_SERVING";

export class HealthState {
  #status: ServingStatus = "SERVING";
  readonly #listeners = new Set<(status: ServingStatus) => void>();

  get status(): ServingStatus {
    return this.#status;
  }

  set(status: ServingStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    for (const listener of this.#listeners) listener(status);
  }

  subscribe(listener: (status: ServingStatus) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}
