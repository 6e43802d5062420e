// bench/README.md says how many phases a round of bench/run.ts has and of which kind, which is what
// a reader multiplies to know how long a run takes: the sentence must follow the round's own lists
// (bench/measureRound.ts) when a route or a phase is added.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { FIXED_RATE_ORDER, ROUND_PHASES, SCENARIO_ORDER } from "../../bench/measureRound.ts";

const readme = readFileSync(new URL("../../bench/README.md", import.meta.url), "utf8");

describe("bench/README.md phase count", () => {
  it("names as many phases per round, of each kind, as bench/measureRound.ts runs", () => {
    const said =
      /Each round has (\d+) phases of `--warmup` \+ `--duration`\s+\((\d+) wrk, (\d+) fixed-rate unpinned and (\d+) pinned, (\d+) first-seen, (\d+) direct Check\)/.exec(
        readme,
      );
    expect(said).not.toBeNull();
    const [total, wrk, unpinned, pinned, firstSeen, direct] = said!.slice(1).map(Number);
    expect({ wrk, unpinned, pinned, firstSeen, direct }).toEqual({
      wrk: ROUND_PHASES.wrk,
      unpinned: ROUND_PHASES.fixedRateUnpinned,
      pinned: ROUND_PHASES.fixedRatePinned,
      firstSeen: ROUND_PHASES.firstSeen,
      direct: ROUND_PHASES.directCheck,
    });
    expect(total).toBe(Object.values(ROUND_PHASES).reduce((sum, n) => sum + n, 0));
  });

  it("runs the mTLS route right after plaintext Portcullis under wrk and at the fixed rate, the session cookie under wrk only", () => {
    for (const order of [SCENARIO_ORDER, FIXED_RATE_ORDER])
      expect(order.indexOf("portcullisMtls")).toBe(order.indexOf("portcullis") + 1);
    expect(SCENARIO_ORDER).toContain("portcullisSession");
    expect(FIXED_RATE_ORDER).not.toContain("portcullisSession");
  });
});
