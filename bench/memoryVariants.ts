// The memory phase of bench/run.ts (bench/measureMemory.ts: a fresh serve, distinct valid then
// invalid tokens by direct Check, RSS and server CPU) for several heap settings side by side, rounds
// alternating, so node flags (young generation size, a heap cap) and src/ trees compare in one run.
// Each variant is a `|`-separated list of node flags; `--base DIR` adds the same variants on another
// checkout (its src/cli/main.ts), e.g. a `git worktree` of an older commit.
// Run: node --disable-warning=ExperimentalWarning bench/memoryVariants.ts [--valid 10000] [--invalid 20000]
//      [--rounds 1] [--idle 5] [--base DIR] [--flags "|--max-semi-space-size=16|--max-old-space-size=128"]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ChildProcessGroup } from "./ChildProcessGroup.ts";
import { createBenchIdentity } from "./createBenchIdentity.ts";
import { measureMemory, type MemoryResult } from "./measureMemory.ts";
import { mintBenchTokens, writeTokenFile } from "./mintBenchTokens.ts";
import { startJwksServer } from "./startJwksServer.ts";

const arg = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
const validCount = Number(arg("valid", "10000"));
const invalidCount = Number(arg("invalid", "20000"));
const rounds = Number(arg("rounds", "1"));
const idleSeconds = Number(arg("idle", "5"));
const REPO = resolve(new URL(import.meta.url).pathname, "../..");
const trees: [string, string][] =
  arg("base", "") === ""
    ? [["this", REPO]]
    : [
        ["base", resolve(arg("base", ""))],
        ["this", REPO],
      ];
const flagSets = arg("flags", "|--max-semi-space-size=16")
  .split("|")
  .map((f) => f.split(" ").filter((s) => s !== ""));
const variants = trees.flatMap(([tree, root]) =>
  flagSets.map((flags) => ({ name: `${tree}${flags.length > 0 ? ` ${flags.join(" ")}` : ""}`, root, flags })),
);

const workDir = mkdtempSync(join(tmpdir(), "portcullis-memory-"));
const group = new ChildProcessGroup(null);
const jwks = await startJwksServer();
try {
  const identity = await createBenchIdentity(jwks.issuer, "bench-api");
  jwks.setJwks(identity.jwks);
  const validTokensFile = writeTokenFile(
    join(workDir, "valid.txt"),
    mintBenchTokens(identity, validCount, { label: "memory", valid: true }),
  );
  const invalidTokensFile = writeTokenFile(
    join(workDir, "invalid.txt"),
    mintBenchTokens(identity, invalidCount, { label: "invalid", valid: false }),
  );
  const results = new Map<string, MemoryResult[]>(variants.map((v) => [v.name, []]));
  for (let r = 0; r < rounds; r++)
    for (const v of r % 2 === 0 ? variants : [...variants].reverse()) {
      const result = await measureMemory(
        group,
        {
          repoRoot: v.root,
          workDir,
          setup: { issuer: jwks.issuer, audience: "bench-api", sessionKey: "k".repeat(43) },
          validTokensFile,
          invalidTokensFile,
          validCount,
          invalidCount,
          idleSeconds,
          concurrency: 16,
          heapCapMb: null,
          nodeArgs: v.flags,
        },
        (text) => process.stderr.write(`${v.name}: ${text}\n`),
      );
      if (result.valid.ok !== validCount || result.invalid.denied !== invalidCount)
        throw new Error(`${v.name}: ${result.valid.ok} valid allowed, ${result.invalid.denied} invalid denied`);
      results.get(v.name)!.push(result);
    }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `${validCount} distinct valid + ${invalidCount} invalid tokens, direct Check; median of ${rounds} round(s):`,
  );
  console.log(
    "variant                                                  RSS ready  after  idle  growth MB  CPU µs/call valid  invalid",
  );
  for (const [name, runs] of results) {
    const of = (pick: (m: MemoryResult) => number | null) => median(runs.map((m) => pick(m) ?? Number.NaN));
    const ready = of((m) => m.rssAtReadyMb);
    const idle = of((m) => m.rssAfterIdleMb);
    console.log(
      `${name.padEnd(56)} ${ready.toFixed(0).padStart(9)}  ${of((m) => m.rssAfterLoadMb)
        .toFixed(0)
        .padStart(5)}  ${idle.toFixed(0).padStart(4)}  ${of(
        (m) => Math.max(m.rssAfterLoadMb ?? 0, m.rssAfterIdleMb ?? 0) - (m.rssAtReadyMb ?? 0),
      )
        .toFixed(0)
        .padStart(9)}  ${of((m) => m.valid.serverCpuUsPerCall)
        .toFixed(0)
        .padStart(17)}  ${of((m) => m.invalid.serverCpuUsPerCall)
        .toFixed(0)
        .padStart(7)}`,
    );
  }
} finally {
  await group.stopAll();
  await jwks.close();
  rmSync(workDir, { recursive: true, force: true });
}
