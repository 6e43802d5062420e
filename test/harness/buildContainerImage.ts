// The container image for end-to-end tests: built by bin/build-image (buildah, no Docker engine;
// cached by input hash, so only the first run after a change pays for it) and run with podman
// against the same storage. podman's flags are the ones this kind of machine needs: runc with
// cgroupfs (crun refuses a hybrid cgroup hierarchy), events to a file (no journald), host network.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "./startPortcullisProcess.ts";

const run = promisify(execFile);
// A fresh machine downloads the pinned inputs, compiles and commits ~170 MB with vfs: ~2 min on 2 cores.
export const IMAGE_BUILD_TIMEOUT_MS = 480_000;

export interface BuiltImage {
  readonly image: string;
  readonly inputHash: string;
  readonly storageRoot: string;
  readonly runRoot: string;
  readonly storageDriver: string;
  readonly ociLayout: string;
  readonly manifestDigest: string;
  readonly unpackedBytes: number;
  readonly compressedBytes: number;
  readonly buildSeconds: number;
  /** podman's global flags for this image's storage and this machine's runtime. */
  readonly podmanFlags: readonly string[];
  /** The podman binary. */
  readonly podman: string;
}

export async function buildContainerImage(): Promise<BuiltImage> {
  const { stdout } = await run(join(REPO_ROOT, "bin/build-image"), [], {
    cwd: REPO_ROOT,
    timeout: IMAGE_BUILD_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((e: { stderr?: string; message: string }) => {
    throw new Error(`bin/build-image failed: ${e.message}\n${e.stderr ?? ""}`);
  });
  // The record of this very build (last-build.json may already be another checkout's, sharing the cache).
  const hash = /-([0-9a-f]{16})$/.exec(stdout.trim())?.[1];
  if (hash === undefined) throw new Error(`bin/build-image printed no image reference: ${stdout}`);
  const info = JSON.parse(await readFile(join(REPO_ROOT, `.cache/image/build-${hash}.json`), "utf8")) as Omit<
    BuiltImage,
    "podmanFlags" | "podman"
  >;
  if (info.image !== stdout.trim()) throw new Error(`bin/build-image printed ${stdout.trim()}, recorded ${info.image}`);
  const podmanFlags = [
    "--root",
    info.storageRoot,
    "--runroot",
    info.runRoot,
    "--storage-driver",
    info.storageDriver,
    "--runtime",
    process.env["RUNC_BIN"] || "/usr/sbin/runc",
    "--cgroup-manager",
    "cgroupfs",
    "--events-backend",
    "file",
  ];
  return { ...info, podmanFlags, podman: process.env["PODMAN_BIN"] || "/usr/bin/podman" };
}

/**
 * `podman run` options every test container gets: the hardening deploy/README.md recommends, limits
 * within the machine's hard ones (podman's default RLIMIT_NOFILE/NPROC exceed them, and an
 * unprivileged raise is refused), and no healthcheck on the container (podman asks systemd to time
 * it, logging an error where there is none; the tests run the image's HEALTHCHECK command themselves).
 */
export const HARDENED_RUN_OPTIONS: readonly string[] = [
  "--network=host",
  "--no-healthcheck",
  "--read-only",
  "--cap-drop=ALL",
  "--security-opt=no-new-privileges",
  "--ulimit=nofile=4096:4096",
  "--ulimit=nproc=4096:4096",
  "--pull=never",
];

/** Runs podman to completion; resolves with its exit code and output (never rejects on a non-zero exit). */
export async function podman(
  image: BuiltImage,
  args: readonly string[],
  timeoutMs = 60_000,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(image.podman, [...image.podmanFlags, ...args], {
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const failed = e as { code?: number | string; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === "number" ? failed.code : -1,
      stdout: failed.stdout ?? "",
      stderr: failed.stderr ?? "",
    };
  }
}
