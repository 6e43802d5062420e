// The metrics registry shows the series of closed label sets from the start, so a dashboard or an
// alert built on rate() sees them before the first check.
import { describe, expect, it } from "vitest";
import { pino } from "pino";
import { buildCheckPipeline } from "../../src/app/buildCheckPipeline.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
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

  it("reads portcullis_redis_up as 1 without a Redis and as the connection's state with one, and starts the Redis operation series at 0", async () => {
    expect(await createMetrics().registry.metrics()).toMatch(/^portcullis_redis_up 1$/m);
    let up = false;
    const withRedis = createMetrics({ redisUp: () => up });
    expect(await withRedis.registry.metrics()).toMatch(/^portcullis_redis_up 0$/m);
    up = true;
    const text = await withRedis.registry.metrics();
    expect(text).toMatch(/^portcullis_redis_up 1$/m);
    expect(text).toMatch(/^portcullis_redis_operations_total\{operation="session_read",result="error"\} 0$/m);
  });
});

describe("the Check pipeline's metrics", () => {
  it("start every configured provider's login, refresh and introspection series at 0", async () => {
    const parsed = parseConfig({
      providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
      routes: [{ name: "all", match: { path: "/" }, auth: "required" }],
    });
    if (!parsed.ok) throw new Error("config rejected");
    const pipeline = buildCheckPipeline(parsed.config, pino({ level: "silent" }));
    try {
      const text = await pipeline.metrics.registry.metrics();
      expect(text).toMatch(/^portcullis_logins_total\{provider="corp",result="started",reason="ok"\} 0$/m);
      expect(text).toMatch(/^portcullis_session_refreshes_total\{provider="corp",result="ok"\} 0$/m);
      expect(text).toMatch(/^portcullis_introspections_total\{provider="corp",result="error"\} 0$/m);
      expect(text).toMatch(/^portcullis_jwks_keys_skipped_total\{provider="corp"\} 0$/m);
    } finally {
      pipeline.registry.close();
    }
  });
});
