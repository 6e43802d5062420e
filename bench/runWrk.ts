// Maximum-throughput load: Debian's `wrk` (closed loop, one thread, N keep-alive connections) as a
// separate process against one loopback URL, bounded by its -d duration plus a hard kill.
import type { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { parseWrkOutput, type WrkResult } from "./parseWrkOutput.ts";

export interface WrkSpec {
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly connections: number;
  readonly durationSeconds: number;
}

export async function runWrk(group: ChildProcessGroup, name: string, spec: WrkSpec): Promise<WrkResult> {
  const args = [
    "-t1",
    `-c${spec.connections}`,
    `-d${Math.max(1, Math.round(spec.durationSeconds))}s`,
    "--latency",
    "--timeout",
    "2s",
  ];
  for (const [key, value] of Object.entries(spec.headers)) args.push("-H", `${key}: ${value}`);
  args.push(spec.url);
  const child = group.spawn(name, process.env["WRK_BIN"] ?? "wrk", args);
  const { code, stdout } = await child.collectStdout((spec.durationSeconds + 15) * 1000);
  if (code !== 0) throw new Error(`${name}: wrk exited ${code}\n${child.tail()}`);
  return parseWrkOutput(stdout);
}
