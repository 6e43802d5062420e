// The JSON logger. Redaction is a second line of defence: code never passes a token or secret to
// a log call, and redactLogFields censors the fields that could carry one if it did. A line
// logged inside a trace span carries its trace_id and span_id. Lines to stdout are buffered with a
// bound, so a reader that stops reading (a stuck log shipper) costs dropped lines, counted, not memory.
import { pino, type Logger, type DestinationStream } from "pino";
import { redactLogFields, SECRET_FIELD_SERIALIZERS } from "./redactLogFields.ts";
import { traceLogFields } from "./traceLogFields.ts";

/**
 * What the stdout destination holds while stdout does not take its lines. Writes are asynchronous
 * (the event loop never waits on stdout) and pino's default buffer has no bound: with a pipe nobody
 * reads, a flood of denials would hold the whole log in the heap. 8 MB is tens of thousands of lines;
 * past it a line is dropped and counted (see reportDroppedLines).
 */
export const MAX_BUFFERED_LOG_BYTES = 8 * 1024 * 1024;

export interface StdoutLogOptions {
  /** The file descriptor lines go to; 1 (stdout) unless a test says otherwise. */
  readonly fd?: number;
  readonly maxBufferedBytes?: number;
}

/** A logger to `destination`, or else to stdout with a bounded buffer. */
export function createLogger(level: string, destination?: DestinationStream, stdout: StdoutLogOptions = {}): Logger {
  if (destination !== undefined) return buildLogger(level, destination);
  const maxBufferedBytes = stdout.maxBufferedBytes ?? MAX_BUFFERED_LOG_BYTES;
  const stream = pino.destination({
    dest: stdout.fd ?? 1,
    sync: false,
    maxLength: maxBufferedBytes,
    // Lines that come while a write is in flight are appended to one string, whose length sonic-boom
    // measures (flattening it) at every line: the copying grows with the square of that string, so
    // it is kept to 4 KB (~1 KB copied per line at 300-byte lines instead of ~7 KB with 16 KB).
    maxWrite: 4096,
  });
  const logger = buildLogger(level, stream);
  reportDroppedLines(stream, logger, maxBufferedBytes);
  return logger;
}

function buildLogger(level: string, destination: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "portcullis" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }), log: redactLogFields },
      // The same fields in a child logger's bindings, which formatters.log does not see.
      serializers: SECRET_FIELD_SERIALIZERS,
      mixin: traceLogFields,
    },
    destination,
  );
}

/**
 * A dropped line is not silent: once stdout has taken everything buffered, one warning says how
 * many lines were lost since the last such warning, so a reader of the log knows it has a gap.
 */
function reportDroppedLines(
  stream: ReturnType<typeof pino.destination>,
  logger: Logger,
  maxBufferedBytes: number,
): void {
  let dropped = 0;
  stream.on("drop", () => {
    dropped += 1;
  });
  stream.on("drain", () => {
    if (dropped === 0) return;
    const droppedLines = dropped;
    dropped = 0;
    logger.warn(
      { droppedLines },
      `log lines dropped: stdout did not take them as fast as they came (over ${Math.round(maxBufferedBytes / 1024)} KB waiting)`,
    );
  });
}

export type { Logger };
