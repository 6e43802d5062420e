// The JSON logger. Redaction is a second line of defence: code never passes a token or secret to
// a log call, and these paths catch the headers and fields that could carry one if it did. A line
// logged inside a trace span carries its trace_id and span_id.
import { pino, type Logger, type DestinationStream } from "pino";
import { traceLogFields } from "./traceLogFields.ts";

export const REDACTED_PATHS = [
  "authorization",
  "cookie",
  "headers.authorization",
  "headers.cookie",
  'headers["proxy-authorization"]',
  "token",
  "clientSecret",
  "secret",
  "*.authorization",
  "*.cookie",
  "*.token",
  "*.clientSecret",
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "portcullis" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
      mixin: traceLogFields,
    },
    destination,
  );
}

export type { Logger };
