// Trace on demand (`log.traceRequests`) through the live gate `serve` answers checks with: a request
// carrying the trace header from a trusted address or with the secret is logged with its whole
// decision trace; any other is decided untraced; the header never reaches the upstream, its value
// never reaches the log, and traces are rate-limited.
import { afterEach, describe, expect, it } from "vitest";
import { createLivePipeline, type LivePipeline } from "../../src/app/createLivePipeline.ts";
import { envoyAllowedHeaders } from "../../src/app/envoyAllowedHeaders.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type { Decision } from "../../src/core/Decision.ts";
import { createLogger } from "../../src/observability/createLogger.ts";
import { assembleAccessRequest } from "../../src/transport/assembleAccessRequest.ts";
import { createManualClock, type ManualClock } from "../harness/createManualClock.ts";

const SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret-0001";
const SECRET_PATH = "log.traceRequests.secret";
const cleanups: Array<() => void> = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function configWith(traceRequests: Record<string, unknown>, level = "info"): PortcullisConfig {
  const parsed = parseConfig(
    {
      providers: { idp: { issuer: "https://idp.example.com", audiences: ["api"] } },
      routes: [
        { name: "health", match: { pathExact: "/healthz" }, auth: "public" },
        { name: "api", match: { path: "/api" }, auth: "required" },
      ],
      log: { level, traceRequests },
    },
    { secretPaths: new Set([SECRET_PATH]) },
  );
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  return parsed.config;
}

interface Running {
  readonly live: LivePipeline;
  readonly lines: Array<Record<string, unknown>>;
  readonly raw: string[];
  readonly clock: ManualClock;
}

function start(traceRequests: Record<string, unknown>): Running {
  const lines: Array<Record<string, unknown>> = [];
  const raw: string[] = [];
  const logger = createLogger("info", {
    write: (line: string) => {
      raw.push(line);
      lines.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  const clock = createManualClock();
  const live = createLivePipeline(configWith(traceRequests), logger, clock);
  cleanups.push(() => live.close());
  return { live, lines, raw, clock };
}

function request(path: string, headers: Record<string, string>, sourceAddress = "") {
  return assembleAccessRequest(
    { id: "", method: "GET", path, host: "app.example.com", scheme: "https" },
    new Map(Object.entries({ "x-request-id": "req-42", ...headers })),
    "",
    sourceAddress,
  );
}

const traces = (lines: Array<Record<string, unknown>>) => lines.filter((l) => l["msg"] === "request trace");

async function traceCount(live: LivePipeline, result: string): Promise<number> {
  const metric = await live.metrics.requestTraces.get();
  return metric.values.find((v) => v.labels["result"] === result)?.value ?? 0;
}

const removed = (decision: Decision) => (decision.kind === "allow" ? decision.removeHeaders : []);

describe("a request carrying the trace header", () => {
  it("from a trusted address is logged once at info with every step, its request id and its decision", async () => {
    const { live, lines } = start({ enabled: true, trustedAddresses: ["10.0.0.0/8"] });
    const decision = await live.gate.decide(request("/healthz", { "x-portcullis-trace": "1" }, "10.1.2.3"));

    expect(decision.kind).toBe("allow");
    const logged = traces(lines);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({
      level: "info",
      requestId: "req-42",
      request: { method: "GET", scheme: "https", host: "app.example.com", path: "/healthz" },
      trace: [
        { step: "path", outcome: "normalised", detail: "/healthz" },
        { step: "rule", outcome: "matches", detail: "health" },
        { step: "route", outcome: "matched", detail: "health (auth public)" },
        { step: "credential", outcome: "not needed", detail: "public route" },
        { step: "decision", outcome: "allow", detail: "public on route health" },
      ],
      decision: { kind: "allow", route: "health", reason: "public" },
    });
    expect(await traceCount(live, "traced")).toBe(1);
  });

  it("logs a denial's status, code and challenge, with the query left out of the path", async () => {
    const { live, lines } = start({ enabled: true, trustedAddresses: ["10.0.0.0/8"] });
    await live.gate.decide(request("/api/x?code=abc&state=xyz", { "x-portcullis-trace": "1" }, "10.9.9.9"));
    const [line] = traces(lines);
    expect(line).toMatchObject({
      request: { path: "/api/x?(query not shown)" },
      decision: { kind: "deny", route: "api", code: "token_missing", status: 401 },
    });
    expect(JSON.stringify(line)).not.toContain("code=abc");
  });

  it("from another address and without the secret is decided untraced and counted as untrusted", async () => {
    const { live, lines } = start({ enabled: true, trustedAddresses: ["10.0.0.0/8"] });
    const decision = await live.gate.decide(request("/healthz", { "x-portcullis-trace": "1" }, "192.0.2.7"));
    expect(decision.kind).toBe("allow");
    expect(traces(lines)).toHaveLength(0);
    expect(await traceCount(live, "untrusted")).toBe(1);
    expect(await traceCount(live, "traced")).toBe(0);
  });

  it("with the secret as its value is traced from any address, and the secret is in no log line", async () => {
    const { live, lines, raw } = start({ enabled: true, secret: SECRET });
    await live.gate.decide(request("/api/x", { "x-portcullis-trace": SECRET }, "192.0.2.7"));
    await live.gate.decide(request("/healthz", { "x-portcullis-trace": SECRET }));
    expect(traces(lines)).toHaveLength(2);
    expect(raw.join("")).not.toContain(SECRET);
    expect(raw.join("")).not.toContain(SECRET.slice(0, 16));
  });

  it("with a wrong secret, or the secret's first characters, is not traced", async () => {
    const { live, lines } = start({ enabled: true, secret: SECRET });
    for (const value of ["wrong", SECRET.slice(0, -1), `${SECRET}x`, ""])
      await live.gate.decide(request("/healthz", { "x-portcullis-trace": value }, "10.0.0.1"));
    expect(traces(lines)).toHaveLength(0);
    expect(await traceCount(live, "untrusted")).toBe(4);
  });

  it("with no source address (the forward-auth endpoint's case) is traced only with the secret", async () => {
    const { live, lines } = start({ enabled: true, trustedAddresses: ["0.0.0.0/0"], secret: SECRET });
    await live.gate.decide(request("/healthz", { "x-portcullis-trace": "1" }));
    expect(traces(lines)).toHaveLength(0);
    await live.gate.decide(request("/healthz", { "x-portcullis-trace": SECRET }));
    expect(traces(lines)).toHaveLength(1);
  });

  it("is removed before the upstream whether or not it was honoured", async () => {
    const { live } = start({ enabled: true, trustedAddresses: ["10.0.0.0/8"] });
    const honoured = await live.gate.decide(request("/healthz", { "x-portcullis-trace": "1" }, "10.0.0.1"));
    const ignored = await live.gate.decide(request("/healthz", { "x-portcullis-trace": "1" }, "192.0.2.1"));
    const without = await live.gate.decide(request("/healthz", {}, "10.0.0.1"));
    expect(removed(honoured)).toContain("x-portcullis-trace");
    expect(removed(ignored)).toContain("x-portcullis-trace");
    expect(removed(without)).not.toContain("x-portcullis-trace");
    // The kept answer of the route is left as it was: the next request without the header gets it unchanged.
    expect(removed(await live.gate.decide(request("/healthz", {}, "10.0.0.1")))).toEqual(removed(without));
  });

  it("under a configured name is the one honoured and removed", async () => {
    const { live, lines } = start({ enabled: true, header: "x-debug-me", trustedAddresses: ["10.0.0.0/8"] });
    const decision = await live.gate.decide(request("/healthz", { "x-debug-me": "1" }, "10.0.0.1"));
    expect(traces(lines)).toHaveLength(1);
    expect(removed(decision)).toContain("x-debug-me");
  });

  it("is traced at most maxPerSecond times a second; the rest are decided untraced and counted", async () => {
    const { live, lines, clock } = start({ enabled: true, trustedAddresses: ["10.0.0.0/8"], maxPerSecond: 2 });
    const ask = () => live.gate.decide(request("/healthz", { "x-portcullis-trace": "1" }, "10.0.0.1"));
    const answers = [await ask(), await ask(), await ask(), await ask()];
    expect(answers.every((d) => d.kind === "allow" && d.removeHeaders.includes("x-portcullis-trace"))).toBe(true);
    expect(traces(lines)).toHaveLength(2);
    expect(await traceCount(live, "rate_limited")).toBe(2);
    clock.advance(500);
    await ask();
    expect(traces(lines)).toHaveLength(3);
    await ask();
    expect(traces(lines)).toHaveLength(3);
  });

  it("is an ordinary header while traceRequests is off: neither traced nor removed", async () => {
    const { live, lines } = start({ enabled: false, trustedAddresses: ["10.0.0.0/8"] });
    expect(live.current().requestTrace).toBeNull();
    const decision = await live.gate.decide(request("/healthz", { "x-portcullis-trace": "1" }, "10.0.0.1"));
    expect(traces(lines)).toHaveLength(0);
    expect(removed(decision)).not.toContain("x-portcullis-trace");
  });
});

describe("log.traceRequests and Envoy's allowed_headers (check-config --envoy)", () => {
  it("lists the trace header, under its configured name, only while the section is on", () => {
    const names = (traceRequests: Record<string, unknown>) =>
      envoyAllowedHeaders(configWith(traceRequests)).map((h) => h.name);
    expect(names({ enabled: true, secret: SECRET })).toContain("x-portcullis-trace");
    expect(names({ enabled: true, secret: SECRET, header: "x-debug-me" })).toContain("x-debug-me");
    expect(names({ enabled: false })).not.toContain("x-portcullis-trace");
  });
});

describe("log.traceRequests in check-config", () => {
  const problemsOf = (traceRequests: Record<string, unknown>, secretPaths = new Set([SECRET_PATH]), extra = {}) => {
    const parsed = parseConfig(
      {
        providers: { idp: { issuer: "https://idp.example.com", audiences: ["api"] } },
        routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
        log: { traceRequests },
        ...extra,
      },
      { secretPaths },
    );
    return { problems: parsed.ok ? [] : parsed.problems, warnings: parsed.warnings };
  };

  it("refuses a secret written in the file, naming the key and the ${ENV} fix, without quoting it", () => {
    const { problems } = problemsOf({ enabled: true, secret: SECRET }, new Set());
    expect(problems).toEqual([
      { path: SECRET_PATH, message: expect.stringContaining("${PORTCULLIS_TRACE_SECRET}") as unknown },
    ]);
    expect(JSON.stringify(problems)).not.toContain(SECRET);
  });

  it("refuses a secret under 32 characters, without quoting it", () => {
    const { problems } = problemsOf({ enabled: true, secret: "short-secret" });
    expect(problems).toEqual([{ path: SECRET_PATH, message: expect.stringMatching(/at least 32/) as unknown }]);
    expect(JSON.stringify(problems)).not.toContain("short-secret");
  });

  it("refuses an enabled trace that nothing can open", () => {
    const { problems } = problemsOf({ enabled: true });
    expect(problems).toEqual([
      { path: "log.traceRequests.enabled", message: expect.stringMatching(/trustedAddresses.*secret/) as unknown },
    ]);
  });

  it("refuses a header Portcullis sets upstream or reads for another purpose", () => {
    expect(problemsOf({ enabled: true, secret: SECRET, header: "x-user-sub" }).problems).toEqual([
      { path: "log.traceRequests.header", message: expect.stringContaining("identity.headers.sub") as unknown },
    ]);
    expect(problemsOf({ enabled: true, secret: SECRET, header: "x-request-id" }).problems).toEqual([
      { path: "log.traceRequests.header", message: expect.stringContaining("another purpose") as unknown },
    ]);
  });

  it("refuses an address that is not a CIDR block", () => {
    expect(problemsOf({ enabled: true, trustedAddresses: ["10.0.0.1"] }).problems).toEqual([
      { path: "log.traceRequests.trustedAddresses[0]", message: expect.stringContaining("address/prefix") as unknown },
    ]);
  });

  it("warns when every address is trusted, and when log.level hides the traces", () => {
    const everyone = problemsOf({ enabled: true, trustedAddresses: ["0.0.0.0/0"] });
    expect(everyone.problems).toEqual([]);
    expect(everyone.warnings).toContainEqual({
      path: "log.traceRequests.trustedAddresses[0]",
      message: expect.stringContaining("trusts every address") as unknown,
    });
    const quiet = problemsOf({ enabled: true, secret: SECRET }, new Set([SECRET_PATH]), {});
    expect(quiet.warnings).toEqual([]);
    const parsed = parseConfig(
      {
        providers: { idp: { issuer: "https://idp.example.com", audiences: ["api"] } },
        routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
        log: { level: "warn", traceRequests: { enabled: true, secret: SECRET } },
      },
      { secretPaths: new Set([SECRET_PATH]) },
    );
    expect(parsed.warnings).toContainEqual({
      path: "log.traceRequests.enabled",
      message: expect.stringContaining("log.level is warn") as unknown,
    });
  });
});
