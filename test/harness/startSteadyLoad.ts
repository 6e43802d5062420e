// Steady HTTPS load through Envoy for availability tests: a fixed number of workers on keep-alive
// connections (as a real client holds them), each sending one request after another with a short
// pause. Several kinds of request (bearer token, session cookie, ...) share the workers round-robin.
// Every answer is classified and nothing is retried here: a failure is one a client would have seen.
import { Agent, request } from "node:https";

export interface LoadKind {
  readonly name: string;
  readonly path: string;
  /** Headers of each request (called per request). */
  headers(): Record<string, string>;
  /** Whether an answer is a success; default: a 2xx status. */
  accepts?(status: number): boolean;
}

export interface LoadFailure {
  readonly kind: string;
  /** Milliseconds since the load started. */
  readonly atMs: number;
  readonly what: string;
}

export interface LoadReport {
  /** Epoch milliseconds the load started at: a failure's atMs counts from here. */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly answered: Readonly<Record<string, number>>;
  readonly total: number;
  readonly failures: readonly LoadFailure[];
  readonly latencyMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

export interface SteadyLoad {
  /** Requests finished so far (success or failure), every kind. */
  answered(): number;
  /** Stops every worker after its current request and reports. */
  stop(): Promise<LoadReport>;
}

export interface SteadyLoadOptions {
  readonly port: number;
  /** PEM certificate the client trusts (the stack's own). */
  readonly ca: string;
  /** Host header; default localhost. */
  readonly host?: string;
  readonly kinds: readonly LoadKind[];
  readonly workers: number;
  /** Pause of each worker between two requests: bounds the rate on a shared machine. */
  readonly pauseMs: number;
  /** A request without an answer after this long counts as failed; default 10 s. */
  readonly timeoutMs?: number;
}

export function startSteadyLoad(options: SteadyLoadOptions): SteadyLoad {
  if (options.kinds.length === 0) throw new Error("no kind of request to send");
  const agent = new Agent({ keepAlive: true, maxSockets: options.workers, ca: options.ca });
  const started = Date.now();
  const answered: Record<string, number> = Object.fromEntries(options.kinds.map((k) => [k.name, 0]));
  const failures: LoadFailure[] = [];
  const latencies: number[] = [];
  let total = 0;
  let stopping = false;

  // The status, and for a failure what answered it: the body's start and Envoy's own flags, so a
  // failure says whether Envoy (ext_authz error, no healthy upstream) or Portcullis (a denial code) sent it.
  const send = (kind: LoadKind) =>
    new Promise<{ status: number; answer: string }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          servername: "localhost",
          port: options.port,
          path: kind.path,
          agent,
          timeout: options.timeoutMs ?? 10_000,
          headers: { host: options.host ?? "localhost", accept: "application/json", ...kind.headers() },
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            if (body.length < 200) body += chunk;
          });
          res.on("end", () => {
            const server = res.headers["server"] ?? "";
            const answer = `${JSON.stringify(body.slice(0, 200))} server=${server} www-authenticate=${res.headers["www-authenticate"] ?? ""}`;
            resolve({ status: res.statusCode ?? 0, answer });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error("timed out")));
      req.on("error", reject);
      req.end();
    });

  const worker = async (kind: LoadKind) => {
    while (!stopping) {
      const t0 = Date.now();
      let what: string | null = null;
      try {
        const { status, answer } = await send(kind);
        if (!(kind.accepts?.(status) ?? (status >= 200 && status < 300))) what = `status ${status} ${answer}`;
      } catch (error) {
        what = (error as Error).message;
      }
      latencies.push(Date.now() - t0);
      total += 1;
      answered[kind.name] = (answered[kind.name] ?? 0) + 1;
      if (what !== null) failures.push({ kind: kind.name, atMs: t0 - started, what });
      await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
    }
  };
  const workers = Array.from({ length: options.workers }, (_, i) =>
    worker(options.kinds[i % options.kinds.length] as LoadKind),
  );

  return {
    answered: () => total,
    async stop() {
      stopping = true;
      await Promise.all(workers);
      agent.destroy();
      const sorted = [...latencies].sort((a, b) => a - b);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
      return {
        startedAt: started,
        durationMs: Date.now() - started,
        answered: { ...answered },
        total,
        failures: [...failures],
        latencyMs: { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? 0 },
      };
    },
  };
}
