// The metrics registry shows the series of closed label sets from the start, so a dashboard or an
// alert built on rate() sees them before the first check.
import { describe, expect, it } from "vitest";
import { createMetrics } from "../../src/observability/Metrics.ts";

describe("metrics registry", () => {
  it("exports the token-cache hit and miss series at 0 before any check", async () => {
    const text = await createMetrics().registry.metrics();
    expect(text).toMatch(/^portcullis_token_cache_lookups_total\{result="hit"\} 0$/m);
    expect(text).toMatch(/^portcullis_token_cache_lookups_total\{result="miss"\} 0$/m);
  });

  it("exports the config reload series at 0 for every result", async () => {
    const text = await createMetrics().registry.metrics();
    for (const result of ["ok", "invalid", "error"]) {
      expect(text).toMatch(new RegExp(`^portcullis_config_reloads_total\\{result="${result}"\\} 0$`, "m"));
    }
  });
});
