// Portcullis's event-loop delay over a phase, from its admin /metrics: prom-client's default process
// metrics (nodejs_eventloop_lag_*) come from perf_hooks.monitorEventLoopDelay, whose
// histogram is reset at every scrape, so a scrape before a phase and one after it bound the window.
// That histogram records the whole interval between its timer's ticks, prom-client's 10 ms
// resolution included (an idle process reads p50 ~10.1 ms): the delay reported here is beyond it.
import { fetchText } from "./fetchText.ts";

/** prom-client's eventLoopMonitoringPrecision (its default; Metrics.ts does not change it), ms. */
export const EVENT_LOOP_MONITOR_RESOLUTION_MS = 10;

export interface EventLoopDelay {
  readonly p99Ms: number;
  readonly maxMs: number;
}

async function scrape(adminPort: number): Promise<string> {
  const { status, body } = await fetchText(`http://127.0.0.1:${adminPort}/metrics`);
  if (status !== 200) throw new Error(`/metrics answered ${status}`);
  return body;
}

/** Starts the window (the scrape resets the histogram). */
export async function resetEventLoopDelay(adminPort: number): Promise<void> {
  await scrape(adminPort);
}

/** The delay since the last scrape; null when the metrics are not exposed. */
export async function readEventLoopDelay(adminPort: number): Promise<EventLoopDelay | null> {
  const body = await scrape(adminPort);
  const gauge = (name: string) => {
    const m = new RegExp(`^nodejs_eventloop_lag_${name}_seconds(?:\\{[^}]*\\})?\\s+([\\d.e+-]+)$`, "m").exec(body);
    return m ? Math.max(0, Number(m[1]) * 1000 - EVENT_LOOP_MONITOR_RESOLUTION_MS) : null;
  };
  const p99Ms = gauge("p99");
  const maxMs = gauge("max");
  return p99Ms === null || maxMs === null ? null : { p99Ms, maxMs };
}
