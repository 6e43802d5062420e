// Child process: an open-loop HTTP load at a fixed rate (wrk2-style). Request i is due at
// start + i/rate; latency is measured from that due time, so a stall is charged to every request
// it delayed (no coordinated omission). Keep-alive agent, bounded duration, per-request timeout.
// Input: one JSON argument (FixedRateSpec). Output: one JSON line {"result": FixedRateResult}.
// With a tokens file, request i carries the file's token i as its bearer (first-seen tokens).
import { readFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { LatencyHistogram, type LatencySummary } from "./LatencyHistogram.ts";

export interface FixedRateSpec {
  readonly url: string; // http://127.0.0.1:PORT/path
  readonly headers: Record<string, string>;
  readonly rate: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly connections: number;
  readonly timeoutMs: number;
  /** One bearer token per line, sent in order (warm-up first), each once while they last. */
  readonly tokensFile?: string;
}

export interface FixedRateResult {
  readonly targetRate: number;
  readonly achievedRate: number;
  readonly completed: number;
  readonly non2xx: number;
  readonly errors: number;
  /** From the scheduled send time: what a client at this rate experiences. */
  readonly responseTime: LatencySummary;
  /** From the actual send time: excludes the generator's own scheduling delay. */
  readonly serviceTime: LatencySummary;
  /** How late the generator sent, p99 (ms): large values mean the generator, not the target, lagged. */
  readonly sendLagP99Ms: number;
}

type HeadersFor = () => Record<string, string>;

function runPhase(spec: FixedRateSpec, agent: Agent, seconds: number, record: boolean, headersFor: HeadersFor) {
  const url = new URL(spec.url);
  const total = Math.round(spec.rate * seconds);
  const interval = 1000 / spec.rate;
  const response = new LatencyHistogram();
  const service = new LatencyHistogram();
  const lag = new LatencyHistogram();
  let completed = 0;
  let non2xx = 0;
  let errors = 0;
  let inFlight = 0;
  let sent = 0;
  const start = performance.now();

  return new Promise<{
    completed: number;
    non2xx: number;
    errors: number;
    response: LatencyHistogram;
    service: LatencyHistogram;
    lag: LatencyHistogram;
    elapsedMs: number;
  }>((resolve) => {
    let drainTimer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(drainTimer);
      resolve({ completed, non2xx, errors, response, service, lag, elapsedMs: performance.now() - start });
    };
    const maybeFinish = () => {
      if (sent === total && inFlight === 0) finish();
    };
    const fire = (due: number) => {
      const sentAt = performance.now();
      inFlight += 1;
      if (record) lag.recordMs(sentAt - due);
      let settled = false;
      const settle = (ok: boolean, status: number) => {
        if (settled) return;
        settled = true;
        inFlight -= 1;
        const now = performance.now();
        if (!ok) errors += 1;
        else {
          completed += 1;
          if (status < 200 || status > 299) non2xx += 1;
          if (record) {
            response.recordMs(now - due);
            service.recordMs(now - sentAt);
          }
        }
        maybeFinish();
      };
      const req = request(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname + url.search,
          method: "GET",
          headers: headersFor(),
        },
        (res) => {
          res.resume();
          res.once("end", () => settle(true, res.statusCode ?? 0));
          res.once("error", () => settle(false, 0));
        },
      );
      req.setTimeout(spec.timeoutMs, () => req.destroy(new Error("timeout")));
      req.once("error", () => settle(false, 0));
      req.end();
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) {
        fire(start + sent * interval);
        sent += 1;
      }
      if (sent < total) {
        setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
        return;
      }
      // Every request has its own timeout; this is the backstop that bounds the drain.
      drainTimer = setTimeout(() => {
        errors += inFlight;
        inFlight = 0;
        finish();
      }, spec.timeoutMs + 1000);
      maybeFinish();
    };
    tick();
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "") as FixedRateSpec;
  const agent = new Agent({ keepAlive: true, maxSockets: spec.connections, maxFreeSockets: spec.connections });
  const tokens = spec.tokensFile ? readFileSync(spec.tokensFile, "utf8").split("\n").filter(Boolean) : [];
  let next = 0;
  const headersFor: HeadersFor =
    tokens.length === 0
      ? () => spec.headers
      : () => ({ ...spec.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` });
  if (spec.warmupSeconds > 0) await runPhase(spec, agent, spec.warmupSeconds, false, headersFor);
  const phase = await runPhase(spec, agent, spec.durationSeconds, true, headersFor);
  agent.destroy();
  const result: FixedRateResult = {
    targetRate: spec.rate,
    achievedRate: phase.completed / (phase.elapsedMs / 1000),
    completed: phase.completed,
    non2xx: phase.non2xx,
    errors: phase.errors,
    responseTime: phase.response.summary(),
    serviceTime: phase.service.summary(),
    sendLagP99Ms: phase.lag.percentileMs(99),
  };
  process.stdout.write(`${JSON.stringify({ result })}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`fixed-rate load: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
