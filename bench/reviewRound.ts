// What a clean-looking round would hide: errors under load on any route (problems, the run exits 1)
// or a load generator that fell behind (warnings: the figures are pessimistic), one line each.
import { SCENARIOS } from "./benchScenarios.ts";
import type { RoundResult } from "./measureRound.ts";

/** What a clean-looking figure would hide: errors under load (problems) or a generator that fell behind (warnings). */
export function reviewRound(round: RoundResult, index: number): { problems: string[]; warnings: string[] } {
  const found: string[] = [];
  const warnings: string[] = [];
  const where = (label: string) => `round ${index + 1}, ${label}`;
  for (const s of SCENARIOS) {
    const w = round.throughput[s.key];
    if (w && w.non2xx + w.socketErrors > 0)
      found.push(`${where(`wrk ${s.label}`)}: ${w.non2xx} non-2xx responses, ${w.socketErrors} socket errors`);
    for (const [f, how] of [
      [round.fixedRate[s.key], "fixed-rate"],
      [round.fixedRatePinned[s.key], "fixed-rate pinned"],
    ] as const) {
      if (f && f.non2xx + f.errors > 0)
        found.push(`${where(`${how} ${s.label}`)}: ${f.non2xx} non-2xx responses, ${f.errors} failed requests`);
      if (f && f.sendLagP99Ms > 2)
        warnings.push(
          `${where(`${how} ${s.label}`)}: the generator itself lagged (send lag p99 ${f.sendLagP99Ms.toFixed(2)} ms); the machine is short of CPU`,
        );
    }
  }
  const fs = round.firstSeen;
  if (fs && fs.non2xx + fs.errors > 0)
    found.push(`${where("first-seen tokens")}: ${fs.non2xx} non-2xx responses, ${fs.errors} failed requests`);
  const fc = fs?.cachedSameRate;
  if (fc && fc.non2xx + fc.errors > 0)
    found.push(`${where("first-seen's cached phase")}: ${fc.non2xx} non-2xx responses, ${fc.errors} failed requests`);
  if (fs && fs.tokenCacheMisses !== null && fs.tokenCacheMisses < fs.completed)
    warnings.push(
      `${where("first-seen tokens")}: only ${fs.tokenCacheMisses} token-cache misses for ${fs.completed} checks`,
    );
  const c = round.check.portcullis;
  if (c && c.notOk + c.errors > 0)
    found.push(`${where("direct Check Portcullis")}: ${c.notOk} denied and ${c.errors} failed calls (expected all OK)`);
  return { problems: found, warnings };
}
