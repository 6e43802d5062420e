// CPU time (user + system, seconds) a process has used so far, from /proc/<pid>/stat. Linux only:
// elsewhere, or for a process that is gone, it answers null and the report shows n/a.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

let ticksPerSecond: number | undefined;

function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    const out = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8", timeout: 5000 });
    const value = Number(out.stdout?.trim());
    ticksPerSecond = Number.isFinite(value) && value > 0 ? value : 100;
  }
  return ticksPerSecond;
}

export function readProcessCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
    return (utime + stime) / clockTicks();
  } catch {
    return null;
  }
}

/** Runs `work` and returns its result with the CPU seconds each named process used meanwhile. */
export async function withCpuUsage<T>(
  pids: Readonly<Record<string, number | undefined>>,
  work: () => Promise<T>,
): Promise<{ result: T; cpuSeconds: Record<string, number | null> }> {
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, readProcessCpuSeconds(pid)]));
  const result = await work();
  const cpuSeconds: Record<string, number | null> = {};
  for (const [name, pid] of Object.entries(pids)) {
    const start = before[name];
    const end = readProcessCpuSeconds(pid);
    cpuSeconds[name] = start === null || start === undefined || end === null ? null : end - start;
  }
  return { result, cpuSeconds };
}
