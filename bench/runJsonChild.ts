// Runs one bench load generator as a separate process (so it never shares an event loop with
// what it measures) and returns the {"result": ...} line it prints; fails with its output tail.
import type { ChildProcessGroup } from "./ChildProcessGroup.ts";

export async function runJsonChild<T>(
  group: ChildProcessGroup,
  name: string,
  script: string,
  spec: object,
  timeoutMs: number,
): Promise<T> {
  const child = group.spawn(name, process.execPath, [
    "--disable-warning=ExperimentalWarning",
    script,
    JSON.stringify(spec),
  ]);
  const { code, stdout } = await child.collectStdout(timeoutMs);
  const line = stdout.split("\n").find((l) => l.startsWith('{"result"'));
  if (code !== 0 || line === undefined) throw new Error(`${name} failed (exit ${code})\n${child.tail()}`);
  return (JSON.parse(line) as { result: T }).result;
}
