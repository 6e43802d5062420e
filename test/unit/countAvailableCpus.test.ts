// The CPUs `serve --workers auto` runs one worker per: the cgroup's quota (v2 cpu.max, v1 CFS quota),
// rounded up, at least 1, at most the affinity mask; and the --workers values accepted.
import { describe, expect, it } from "vitest";
import { cgroupCpuLimit, countAvailableCpus, parseCfsQuota, parseCpuMax } from "../../src/app/countAvailableCpus.ts";
import { parseWorkersOption } from "../../src/app/parseWorkersOption.ts";

const files = (entries: Record<string, string>) => (path: string) => entries[path] ?? null;

describe("parseCpuMax (cgroup v2)", () => {
  it("reads quota over period, and no limit for max or a malformed file", () => {
    expect(parseCpuMax("150000 100000\n")).toBe(1.5);
    expect(parseCpuMax("200000 100000")).toBe(2);
    expect(parseCpuMax("max 100000\n")).toBeNull();
    expect(parseCpuMax("")).toBeNull();
    expect(parseCpuMax("-1 100000")).toBeNull();
    expect(parseCpuMax("0 100000")).toBeNull();
    expect(parseCpuMax("50000 0")).toBeNull();
    expect(parseCpuMax("1e5 100000")).toBeNull();
  });
});

describe("parseCfsQuota (cgroup v1)", () => {
  it("reads quota over period, and no limit for -1", () => {
    expect(parseCfsQuota("50000\n", "100000\n")).toBe(0.5);
    expect(parseCfsQuota("-1\n", "100000\n")).toBeNull();
    expect(parseCfsQuota("abc", "100000")).toBeNull();
  });
});

describe("cgroupCpuLimit", () => {
  it("takes the smallest quota along the process's cgroup and its ancestors (v2)", () => {
    const read = files({
      "/proc/self/cgroup": "0::/kubepods/pod1/c1\n",
      "/sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "max 100000\n",
      "/sys/fs/cgroup/kubepods/pod1/cpu.max": "250000 100000\n",
      "/sys/fs/cgroup/kubepods/cpu.max": "800000 100000\n",
    });
    expect(cgroupCpuLimit(read)).toBe(2.5);
  });

  it("reads the root's cpu.max inside a container's cgroup namespace", () => {
    expect(cgroupCpuLimit(files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": "100000 100000" }))).toBe(1);
  });

  it("reads the v1 cpu controller's CFS quota", () => {
    const read = files({
      "/proc/self/cgroup": "4:memory:/x\n2:cpu,cpuacct:/docker/abc\n",
      "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "300000\n",
      "/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
    });
    expect(cgroupCpuLimit(read)).toBe(3);
  });

  it("finds no limit without cgroup files", () => {
    expect(cgroupCpuLimit(files({}))).toBeNull();
  });
});

describe("countAvailableCpus", () => {
  const quota = (cpuMax: string) => files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": cpuMax });

  it("rounds a fractional quota up and never goes below 1", () => {
    expect(countAvailableCpus(quota("150000 100000"), 8)).toBe(2);
    expect(countAvailableCpus(quota("10000 100000"), 8)).toBe(1);
    expect(countAvailableCpus(quota("200000 100000"), 8)).toBe(2);
  });

  it("is capped by the CPUs the process may run on, and is that count without a quota", () => {
    expect(countAvailableCpus(quota("1600000 100000"), 4)).toBe(4);
    expect(countAvailableCpus(quota("max 100000"), 16)).toBe(16);
    expect(countAvailableCpus(files({}), 2)).toBe(2);
  });
});

describe("parseWorkersOption", () => {
  it("takes a whole number from 1 to 256, or auto", () => {
    expect(parseWorkersOption("1", "--workers")).toEqual({ workers: 1 });
    expect(parseWorkersOption(" 16 ", "--workers")).toEqual({ workers: 16 });
    expect(parseWorkersOption("256", "--workers")).toEqual({ workers: 256 });
    expect(parseWorkersOption("auto", "PORTCULLIS_WORKERS")).toEqual({ workers: "auto" });
  });

  it("refuses anything else, naming where it came from and what is accepted", () => {
    for (const bad of ["0", "257", "abc", "-1", "1.5", "", "2x", "AUTO"]) {
      const parsed = parseWorkersOption(bad, "PORTCULLIS_WORKERS");
      expect(parsed).toHaveProperty("error");
      expect((parsed as { error: string }).error).toMatch(
        /^PORTCULLIS_WORKERS .* a whole number from 1 to 256, or auto/,
      );
    }
  });
});
