// The `tracing` config section: off by default, every bad value reported with its key path and how
// to fix it, header values never quoted, and a reload that would change tracing refused.
import { describe, expect, it } from "vitest";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { reloadProblems } from "../../src/app/reloadProblems.ts";

const ROUTES = [{ name: "api", match: { path: "/api" }, auth: "public" }];

function parse(tracing: unknown) {
  return parseConfig({ routes: ROUTES, ...(tracing === undefined ? {} : { tracing }) });
}

function config(tracing: unknown): PortcullisConfig {
  const result = parse(tracing);
  if (!result.ok) throw new Error(result.problems.map(formatIssue).join("; "));
  return result.config;
}

function problems(tracing: unknown): string[] {
  const result = parse(tracing);
  return result.ok ? [] : result.problems.map(formatIssue);
}

describe("tracing config", () => {
  it("is off by default, with a local collector, the service name portcullis and every trace sampled", () => {
    expect(config(undefined).tracing).toEqual({
      enabled: false,
      endpoint: "http://127.0.0.1:4318/v1/traces",
      serviceName: "portcullis",
      sampleRatio: 1,
      exportTimeoutMs: 10000,
      headers: {},
    });
  });

  it("takes an endpoint, service name, ratio, timeout and export headers", () => {
    const tracing = config({
      enabled: true,
      endpoint: "https://otlp.example.com/otlp/v1/traces",
      serviceName: "edge-authz",
      sampleRatio: 0.25,
      exportTimeoutMs: 2000,
      headers: { "x-api-key": "k3y", Authorization: "Basic abc" },
    }).tracing;
    expect(tracing).toMatchObject({
      enabled: true,
      endpoint: "https://otlp.example.com/otlp/v1/traces",
      serviceName: "edge-authz",
      sampleRatio: 0.25,
    });
    expect(tracing.headers).toEqual({ "x-api-key": "k3y", Authorization: "Basic abc" });
  });

  it("rejects a sample ratio outside 0..1 or not a number, saying what it means", () => {
    expect(problems({ sampleRatio: 1.5 })).toEqual([
      "tracing.sampleRatio: must be a number from 0 to 1 (e.g. 0.1 records one in ten traces that start at Portcullis) (got 1.5)",
    ]);
    expect(problems({ sampleRatio: "10%" })[0]).toMatch(/^tracing\.sampleRatio: must be a number from 0 to 1/);
    expect(problems({ sampleRatio: 0 })).toEqual([]);
  });

  it("rejects an endpoint without the traces path, pointing at /v1/traces", () => {
    expect(problems({ endpoint: "http://otel-collector:4318" })).toEqual([
      'tracing.endpoint: must be the full traces URL, usually ending in /v1/traces (e.g. http://otel-collector:4318/v1/traces) (got "http://otel-collector:4318")',
    ]);
  });

  it("rejects a gRPC or relative endpoint and credentials in the URL", () => {
    expect(problems({ endpoint: "grpc://otel-collector:4317" })[0]).toContain(
      "tracing.endpoint: must be an http:// or https:// URL (OTLP over HTTP",
    );
    expect(problems({ endpoint: "otel-collector:4318/v1/traces" })[0]).toMatch(/^tracing\.endpoint: must be/);
    const withCredentials = problems({ endpoint: "https://user:pw@otlp.example.com/v1/traces" });
    expect(withCredentials[0]).toContain("tracing.endpoint: must not carry credentials (send them in tracing.headers)");
  });

  it("rejects unknown keys, a bad timeout and a bad header name", () => {
    expect(problems({ url: "http://x/v1/traces" })).toEqual([
      "tracing.url: unknown key (allowed: enabled, endpoint, serviceName, sampleRatio, exportTimeoutMs, headers)",
    ]);
    expect(problems({ exportTimeoutMs: 50 })).toEqual(["tracing.exportTimeoutMs: must be 100..60000 (got 50)"]);
    expect(problems({ headers: { "bad header": "v" } })).toEqual([
      'tracing.headers["bad header"]: must be an HTTP header name (letters, digits and !#$%&\'*+.^_`|~-, at most 100) (got "bad header")',
    ]);
    expect(problems({ enabled: "yes" })).toEqual(['tracing.enabled: must be true or false (got "yes")']);
  });

  it("never quotes a header value in a message", () => {
    const found = problems({ headers: { "x-api-key": " s3cr3t-key " } });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^tracing\.headers\.x-api-key: /);
    expect(found.join("\n")).not.toContain("s3cr3t");
  });

  it("cannot be changed by a reload (the tracer is set up once per process)", () => {
    const off = config(undefined);
    const on = config({ enabled: true });
    expect(reloadProblems(off, on)).toEqual([
      {
        path: "tracing",
        message: "cannot change on reload (the tracer is set up once, at start); restart Portcullis to change tracing",
      },
    ]);
    expect(reloadProblems(on, config({ enabled: true }))).toEqual([]);
  });
});
