// The stdout logger's buffer is bounded: while the reader of its pipe does not read, lines past the
// bound are dropped rather than held, and once the reader has caught up one warning counts them, so
// every line is either delivered or counted.
import { fork, type ChildProcess } from "node:child_process";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger, MAX_BUFFERED_LOG_BYTES } from "../../src/observability/createLogger.ts";
import { waitUntil } from "../harness/waitUntil.ts";

// A reader that takes nothing from its stdin until told to, then counts lines and reports the
// dropped-lines warning when it sees it.
const READER = `
let text = "";
let lines = 0;
process.once("message", () => {
  process.stdin.setEncoding("utf8").on("data", (chunk) => {
    text += chunk;
    let nl;
    while ((nl = text.indexOf("\\n")) >= 0) {
      const line = JSON.parse(text.slice(0, nl));
      text = text.slice(nl + 1);
      if (line.droppedLines !== undefined) process.send({ lines, droppedLines: line.droppedLines, msg: line.msg });
      else lines += 1;
    }
  });
});
process.send("ready");
`;

let reader: ChildProcess | undefined;
afterEach(() => {
  reader?.kill("SIGKILL");
  reader = undefined;
});

describe("stdout logger", () => {
  it("drops lines past its buffer bound while stdout is not read, and counts them once it is", async () => {
    reader = fork("-e", [READER], { stdio: ["pipe", "ignore", "inherit", "ipc"], execArgv: [] });
    const child = reader;
    const messages: unknown[] = [];
    child.on("message", (m) => messages.push(m));
    expect(await waitUntil(async () => messages.includes("ready"), 10_000)).toBe(true);
    const fd = (child.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    const logger = createLogger("info", undefined, { fd, maxBufferedBytes: 64 * 1024 });
    const sent = 5000; // ~1 MB of denial-sized lines: far past the pipe's and the buffer's room
    for (let i = 0; i < sent; i += 1)
      logger.info({ requestId: `r-${i}`, route: "api", code: "token_invalid", status: 401 }, "request denied");
    child.send("read");
    expect(await waitUntil(async () => messages.some((m) => typeof m === "object"), 20_000)).toBe(true);
    const report = messages.find((m) => typeof m === "object") as { lines: number; droppedLines: number; msg: string };
    expect(report.droppedLines).toBeGreaterThan(0);
    expect(report.lines + report.droppedLines).toBe(sent);
    expect(report.msg).toMatch(/log lines dropped/);
  });

  it("writes to stdout asynchronously with MAX_BUFFERED_LOG_BYTES as the bound when given no destination", () => {
    const stream = (
      createLogger("info") as unknown as Record<symbol, { fd: number; sync: boolean; maxLength: number }>
    )[pino.symbols.streamSym]!;
    expect({ fd: stream.fd, sync: stream.sync, maxLength: stream.maxLength }).toEqual({
      fd: 1,
      sync: false,
      maxLength: MAX_BUFFERED_LOG_BYTES,
    });
  });
});
