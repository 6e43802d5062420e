// The footprint phases, on a fresh Portcullis process (pinned like the servers): cold start (spawn
// to /readyz 200), RSS at ready, RSS after a stream of distinct valid tokens and then of invalid
// ones through direct Check (the server's CPU per call for each), and RSS after an idle period.
// Runs after the rounds so its grown caches and heap never touch the other figures; run again with
// the V8 heap capped (--max-old-space-size), as a container's memory limit would, it shows what
// the same load costs in CPU there. The process is stopped at the end.
import { existsSync } from "node:fs";
import type { ChildProcessGroup } from "./ChildProcessGroup.ts";
import type { CheckStreamResult, CheckStreamSpec } from "./checkStreamProcess.ts";
import { withCpuUsage } from "./readProcessCpuSeconds.ts";
import { fetchText } from "./fetchText.ts";
import { readProcessRssMb } from "./readProcessRss.ts";
import { runJsonChild } from "./runJsonChild.ts";
import { BENCH_ROUTE_PATH, startPortcullis, type PortcullisBenchSetup } from "./startPortcullis.ts";

export interface MemorySpec {
  readonly repoRoot: string;
  readonly workDir: string;
  readonly setup: PortcullisBenchSetup;
  readonly validTokensFile: string;
  readonly invalidTokensFile: string;
  readonly validCount: number;
  readonly invalidCount: number;
  readonly idleSeconds: number;
  readonly concurrency: number;
  /** --max-old-space-size for this process (MB), null for Node's default. */
  readonly heapCapMb: number | null;
  /** More node flags for this process (bench/memoryVariants.ts compares heap settings). */
  readonly nodeArgs?: readonly string[];
}

export type TokenStream = CheckStreamResult & { readonly serverCpuUsPerCall: number | null };

export interface MemoryResult {
  /** Spawn of `portcullis serve` to its /readyz answering 200 (keys fetched from the local JWKS stub). */
  readonly coldStartMs: number;
  readonly rssAtReadyMb: number | null;
  readonly valid: TokenStream;
  readonly invalid: TokenStream;
  readonly rssAfterLoadMb: number | null;
  readonly rssAfterIdleMb: number | null;
  readonly idleSeconds: number;
  readonly heapCapMb: number | null;
  /** The node flags beside the heap cap (absent in results written before they were recorded). */
  readonly nodeArgs?: readonly string[];
}

async function stopProcess(pid: number | undefined): Promise<void> {
  if (pid === undefined) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && existsSync(`/proc/${pid}`)) await new Promise((resolve) => setTimeout(resolve, 50));
}

export async function measureMemory(
  group: ChildProcessGroup,
  spec: MemorySpec,
  say: (text: string) => void,
): Promise<MemoryResult> {
  const cap = spec.heapCapMb === null ? "" : ` (heap capped at ${spec.heapCapMb} MB)`;
  say(`memory${cap}: a fresh Portcullis, cold start to /readyz`);
  const started = performance.now();
  const portcullis = await startPortcullis(
    group,
    spec.repoRoot,
    spec.workDir,
    spec.setup,
    spec.heapCapMb === null ? "portcullis-memory" : "portcullis-memory-capped",
    [...(spec.heapCapMb === null ? [] : [`--max-old-space-size=${spec.heapCapMb}`]), ...(spec.nodeArgs ?? [])],
  );
  const coldStartMs = performance.now() - started;
  const rssAtReadyMb = readProcessRssMb(portcullis.pid);
  const stream = async (name: string, tokensFile: string): Promise<TokenStream> => {
    const streamSpec: CheckStreamSpec = {
      target: `127.0.0.1:${portcullis.grpcPort}`,
      concurrency: spec.concurrency,
      tokensFile,
      host: "127.0.0.1:10000",
      path: BENCH_ROUTE_PATH,
    };
    const { result, cpuSeconds } = await withCpuUsage({ server: portcullis.pid }, () =>
      runJsonChild<CheckStreamResult>(
        group,
        name,
        new URL("./checkStreamProcess.ts", import.meta.url).pathname,
        streamSpec,
        600_000,
      ),
    );
    const cpu = cpuSeconds["server"];
    return { ...result, serverCpuUsPerCall: cpu === null || cpu === undefined ? null : (cpu / result.calls) * 1e6 };
  };
  say(`memory${cap}: ${spec.validCount} distinct valid tokens, then ${spec.invalidCount} invalid ones (direct Check)`);
  const valid = await stream("memory-valid", spec.validTokensFile);
  const invalid = await stream("memory-invalid", spec.invalidTokensFile);
  const rssAfterLoadMb = readProcessRssMb(portcullis.pid);
  say(`memory${cap}: idle ${spec.idleSeconds} s`);
  await new Promise((resolve) => setTimeout(resolve, spec.idleSeconds * 1000));
  const rssAfterIdleMb = readProcessRssMb(portcullis.pid);
  say(`memory${cap}: after idle, V8 heap spaces used / size: ${await heapSpaces(portcullis.adminPort)}`);
  await stopProcess(portcullis.pid);
  return {
    coldStartMs,
    rssAtReadyMb,
    valid,
    invalid,
    rssAfterLoadMb,
    rssAfterIdleMb,
    idleSeconds: spec.idleSeconds,
    heapCapMb: spec.heapCapMb,
    nodeArgs: spec.nodeArgs ?? [],
  };
}

/** Each V8 heap space's used and committed MB, from the process's own metrics: where the RSS is. */
async function heapSpaces(adminPort: number): Promise<string> {
  const { body } = await fetchText(`http://127.0.0.1:${adminPort}/metrics`);
  const read = (metric: string) =>
    new Map(
      [...body.matchAll(new RegExp(`^nodejs_heap_space_size_${metric}_bytes\\{space="(\\w+)"\\} (\\S+)$`, "gm"))].map(
        (m) => [m[1]!, Number(m[2]) / 2 ** 20],
      ),
    );
  const used = read("used");
  const total = read("total");
  return [...total]
    .filter(([, mb]) => mb >= 1)
    .map(([space, mb]) => `${space} ${(used.get(space) ?? 0).toFixed(0)}/${mb.toFixed(0)}`)
    .join(", ");
}
