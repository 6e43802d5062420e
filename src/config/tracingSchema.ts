// The `tracing` section of the config schema: OpenTelemetry spans exported over OTLP/HTTP, off by
// default. Its own file like routeSchema.ts; its formats are exported for the tests that hold
// each format's JSON Schema to its parser.
import { nonBlank, type FormatResult, type StringFormat } from "./configFormats.ts";
import type { CustomReport, CustomResult, ObjectNode } from "./configSchema.ts";
import { AUTHORITY_PATTERN, HTTP_SCHEME_PATTERN } from "./JsonSchema.ts";

/** An OTLP/HTTP traces URL: http or https, a path (usually `/v1/traces`), no credentials in it. */
export const otlpEndpoint: StringFormat<string> = {
  label: "http(s) URL",
  jsonSchema: {
    type: "string",
    format: "uri",
    pattern: `^${HTTP_SCHEME_PATTERN}${AUTHORITY_PATTERN}/[^?#\\s\\\\][^#\\s\\\\]*$`,
  },
  schemaNote: "check-config also parses it as a URL.",
  parse(value): FormatResult {
    const url = URL.parse(value);
    // The URL parser would quietly encode a space and turn a backslash into a slash.
    if (/[\s\\]/.test(value)) return { ok: false, message: "must not contain spaces or backslashes" };
    if (url === null)
      return { ok: false, message: "must be an absolute URL such as http://otel-collector:4318/v1/traces" };
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      return {
        ok: false,
        message: "must be an http:// or https:// URL (OTLP over HTTP; the gRPC port 4317 is not supported)",
      };
    }
    if (url.username !== "" || url.password !== "")
      return { ok: false, message: "must not carry credentials (send them in tracing.headers)" };
    if (url.hash !== "" || value.includes("#")) return { ok: false, message: "must not have a #fragment" };
    // The exporter posts to this URL as written; a collector's base URL alone answers 404.
    if (url.pathname === "/" || url.pathname === "") {
      return {
        ok: false,
        message: `must be the full traces URL, usually ending in /v1/traces (e.g. ${url.origin}/v1/traces)`,
      };
    }
    return { ok: true, value };
  },
};

/** A header sent to the collector: any HTTP field name (a collector's `Authorization` included). */
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;

export const exportHeaderName: StringFormat<string> = {
  label: "HTTP header name",
  jsonSchema: { type: "string", pattern: HEADER_NAME.source },
  parse(value): FormatResult {
    if (!HEADER_NAME.test(value)) {
      return { ok: false, message: "must be an HTTP header name (letters, digits and !#$%&'*+.^_`|~-, at most 100)" };
    }
    return { ok: true, value };
  },
};

/** A number 0..1 (YAML integers 0 and 1 included). */
function parseSampleRatio(value: unknown, path: string, report: CustomReport): CustomResult<number> {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || value > 1) {
    report(path, "must be a number from 0 to 1 (e.g. 0.1 records one in ten traces that start at Portcullis)", {
      value,
    });
    return { ok: false };
  }
  return { ok: true, value };
}

export const tracingNode = {
  kind: "object",
  description:
    "OpenTelemetry tracing: a span per Check that continues the trace Envoy passes (W3C `traceparent`, B3), with child spans for IdP calls, exported over OTLP/HTTP. Off by default.",
  fields: {
    enabled: {
      kind: "boolean",
      default: false,
      description: "Export spans. Cannot change on a config reload (restart).",
    },
    endpoint: {
      kind: "string",
      format: otlpEndpoint,
      default: "http://127.0.0.1:4318/v1/traces",
      description: "The collector's OTLP/HTTP traces URL (JSON is sent), e.g. `http://otel-collector:4318/v1/traces`.",
    },
    serviceName: {
      kind: "string",
      format: nonBlank,
      default: "portcullis",
      description: "The `service.name` resource attribute of every span.",
    },
    sampleRatio: {
      kind: "custom",
      typeLabel: "number 0..1",
      parse: parseSampleRatio,
      jsonSchema: { type: "number", minimum: 0, maximum: 1 },
      default: 1,
      description:
        "Share of traces that start at Portcullis (requests without trace context) that are recorded. A request whose trace context says sampled or not sampled is followed as it says.",
    },
    exportTimeoutMs: {
      kind: "integer",
      min: 100,
      max: 60000,
      default: 10000,
      description: "Timeout of one export request; also bounds the flush at shutdown.",
    },
    headers: {
      kind: "map",
      keyLabel: "<header>",
      keyFormat: exportHeaderName,
      values: {
        kind: "string",
        format: nonBlank,
        secret: true,
        description: "Header value; pass secrets as `${ENV_VAR}`.",
      },
      default: {},
      description: "HTTP headers sent with every export, e.g. a collector's API key.",
    },
  },
} as const satisfies ObjectNode;
