// Resident set size of a process, MB (VmRSS from /proc/<pid>/status). Linux only: null elsewhere or
// for a process that is gone.
import { readFileSync } from "node:fs";

export function readProcessRssMb(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}
