// Builds a Go peer of the benchmark with the machine's Go from the Go module proxy into
// .cache/bench-go/bin, once per source (or module version) and Go version: the no-op grpc-go
// ext_authz server (bench/noopGo) and oauth2-proxy (a pinned release). Answers why when it cannot
// (no Go, a failed build), so the bench skips that peer with a clear line instead of failing.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export type GoBuild = { readonly bin: string; readonly goVersion: string } | { readonly skipped: string };

/** A Go main package: a directory of this repository, or a module's package at a pinned version. */
export type GoPeerSource = { readonly dir: string } | { readonly pkg: string; readonly binary: string };

const NOOP_SOURCES = ["go.mod", "go.sum", "main.go"];
const BUILD_TIMEOUT_MS = 8 * 60_000;

export const NOOP_GO_SERVER: GoPeerSource = { dir: join("bench", "noopGo") };
export const OAUTH2_PROXY_VERSION = "v7.15.6";
export const OAUTH2_PROXY: GoPeerSource = {
  pkg: `github.com/oauth2-proxy/oauth2-proxy/v7@${OAUTH2_PROXY_VERSION}`,
  binary: "oauth2-proxy",
};

export function buildGoPeer(repoRoot: string, name: string, source: GoPeerSource): GoBuild {
  const go = process.env["GO_BIN"] ?? "go";
  const version = spawnSync(go, ["env", "GOVERSION"], { encoding: "utf8", timeout: 10_000 });
  if (version.error || version.status !== 0) return { skipped: `no Go toolchain (${go}): install Go or set GO_BIN` };
  const goVersion = version.stdout.trim();
  const cache = join(repoRoot, ".cache", "bench-go");
  const binDir = join(cache, "bin");
  const bin = join(binDir, "dir" in source ? name : source.binary);
  const what =
    "dir" in source
      ? NOOP_SOURCES.map((f) => readFileSync(join(repoRoot, source.dir, f), "utf8")).join("\0")
      : source.pkg;
  const stamp = createHash("sha256").update(goVersion).update(what).digest("hex");
  const stampFile = `${bin}.stamp`;
  if (existsSync(bin) && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp) return { bin, goVersion };
  mkdirSync(binDir, { recursive: true });
  process.stderr.write(`bench: building ${name} with ${goVersion} into .cache/bench-go (minutes the first time)\n`);
  // Module and build caches stay under .cache/bench-go so a source change rebuilds in seconds.
  const args =
    "dir" in source
      ? ["build", "-trimpath", "-ldflags", "-s -w", "-o", bin, "."]
      : ["install", "-trimpath", "-ldflags", "-s -w", source.pkg];
  const build = spawnSync(go, args, {
    cwd: "dir" in source ? join(repoRoot, source.dir) : cache,
    encoding: "utf8",
    timeout: BUILD_TIMEOUT_MS,
    env: {
      ...process.env,
      GOPATH: join(cache, "gopath"),
      GOMODCACHE: join(cache, "gopath", "pkg", "mod"),
      GOCACHE: join(cache, "gocache"),
      GOBIN: binDir,
      GOFLAGS: "-modcacherw",
      CGO_ENABLED: "0",
    },
  });
  if (build.error || build.status !== 0 || !existsSync(bin)) {
    const why = build.error?.message ?? `${build.stderr}`.trim().split("\n").slice(-3).join(" / ");
    return { skipped: `${name} did not build with ${goVersion}: ${why}` };
  }
  writeFileSync(stampFile, stamp);
  return { bin, goVersion };
}
