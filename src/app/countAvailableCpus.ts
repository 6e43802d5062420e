// How many CPUs this process may use, for `serve --workers auto`: the cgroup's CPU quota (v2
// `cpu.max`, v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us`, the smallest along the process's cgroup and
// its ancestors) rounded up, at least 1, and never more than os.availableParallelism() (the affinity mask).
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** Reads a file's text, or null when it cannot be read (absent controller, no cgroup fs). */
export type ReadText = (path: string) => string | null;

/** cgroup v2 `cpu.max` ("QUOTA PERIOD" or "max PERIOD") → CPUs allowed, or null when unlimited or unreadable. */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === "max") return null;
  return quotaCpus(quota, period);
}

/** cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` → CPUs allowed, or null when unlimited (-1) or unreadable. */
export function parseCfsQuota(quota: string, period: string): number | null {
  if (quota.trim() === "-1") return null;
  return quotaCpus(quota.trim(), period.trim());
}

function quotaCpus(quota: string | undefined, period: string | undefined): number | null {
  if (quota === undefined || period === undefined || !/^\d+$/.test(quota) || !/^\d+$/.test(period)) return null;
  const q = Number(quota);
  const p = Number(period);
  if (q <= 0 || p <= 0) return null;
  return q / p;
}

/** The process's cgroup path for the v2 hierarchy ("0::/x") and for v1's cpu controller ("N:cpu,cpuacct:/x"). */
function cgroupPaths(procSelfCgroup: string): { v2: string | null; v1cpu: string | null } {
  let v2: string | null = null;
  let v1cpu: string | null = null;
  for (const line of procSelfCgroup.split("\n")) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (controllers === undefined || path === undefined) continue;
    if (controllers === "") v2 = path;
    else if (controllers.split(",").includes("cpu")) v1cpu = path;
  }
  return { v2, v1cpu };
}

/** `/a/b` → ["/a/b", "/a", "/"]: a quota on any ancestor limits the process too. */
function selfAndAncestors(path: string): string[] {
  const parts = path.split("/").filter((part) => part !== "");
  const out: string[] = [];
  for (let i = parts.length; i >= 0; i -= 1) out.push(`/${parts.slice(0, i).join("/")}`.replace(/\/$/, "") || "");
  return out;
}

/** The smallest CPU quota found for this process's cgroups, or null when none is set. */
export function cgroupCpuLimit(read: ReadText): number | null {
  const { v2, v1cpu } = cgroupPaths(read("/proc/self/cgroup") ?? "");
  const limits: number[] = [];
  // Inside a container's cgroup namespace the process's own cgroup is the root: "/" is tried too.
  for (const dir of new Set(selfAndAncestors(v2 ?? ""))) {
    const text = read(`/sys/fs/cgroup${dir}/cpu.max`);
    const cpus = text === null ? null : parseCpuMax(text);
    if (cpus !== null) limits.push(cpus);
  }
  for (const dir of new Set(selfAndAncestors(v1cpu ?? ""))) {
    for (const root of ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"]) {
      const quota = read(`${root}${dir}/cpu.cfs_quota_us`);
      const period = read(`${root}${dir}/cpu.cfs_period_us`);
      const cpus = quota === null || period === null ? null : parseCfsQuota(quota, period);
      if (cpus !== null) limits.push(cpus);
    }
  }
  return limits.length === 0 ? null : Math.min(...limits);
}

const readText: ReadText = (path) => {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return null;
  }
};

/** CPUs available: the cgroup quota rounded up (1.5 CPUs → 2 workers), at least 1, at most the affinity mask. */
export function countAvailableCpus(read: ReadText = readText, parallelism: number = availableParallelism()): number {
  const limit = cgroupCpuLimit(read);
  const cpus = limit === null ? parallelism : Math.ceil(limit - 1e-9);
  return Math.max(1, Math.min(parallelism, cpus));
}
