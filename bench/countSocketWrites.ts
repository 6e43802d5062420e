// Counts the write system calls (write, writev, sendmsg, sendto) a running process makes while `run`
// runs, with strace attached to every thread (strace -f -c -p). A count, not a timing: strace slows the
// process, but how many writes a call costs does not depend on how fast it goes.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const WRITE_CALLS = ["write", "writev", "sendmsg", "sendto"];

export async function countSocketWrites<T>(
  pid: number | undefined,
  run: () => Promise<T>,
): Promise<{ value: T; writes: number; summary: string }> {
  if (pid === undefined) throw new Error("countSocketWrites: no pid");
  const dir = mkdtempSync(join(tmpdir(), "portcullis-strace-"));
  const out = join(dir, "counts.txt");
  const strace = spawn("strace", ["-f", "-c", "-e", `trace=${WRITE_CALLS.join(",")}`, "-o", out, "-p", String(pid)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let attached = "";
  // strace says "Process N attached" on stderr once it is tracing.
  await new Promise<void>((resolve, reject) => {
    strace.stderr.on("data", (chunk: Buffer) => {
      attached += chunk.toString();
      if (attached.includes("attached")) resolve();
    });
    strace.once("exit", (code) => reject(new Error(`strace exited ${code}: ${attached}`)));
  });
  try {
    const value = await run();
    return { value, ...(await stopAndRead(strace, out)) };
  } finally {
    if (strace.exitCode === null) strace.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
}

async function stopAndRead(
  strace: ReturnType<typeof spawn>,
  out: string,
): Promise<{ writes: number; summary: string }> {
  const exited = new Promise<void>((resolve) => strace.once("exit", () => resolve()));
  strace.kill("SIGINT");
  await exited;
  const counts = new Map<string, number>();
  // strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall.
  for (const line of readFileSync(out, "utf8").split("\n")) {
    const cols = line.trim().split(/\s+/);
    const name = cols.at(-1) ?? "";
    if (WRITE_CALLS.includes(name) && cols.length >= 5) counts.set(name, Number(cols[3]));
  }
  const writes = [...counts.values()].reduce((a, b) => a + b, 0);
  return { writes, summary: [...counts].map(([name, n]) => `${name} ${n}`).join(", ") || "none" };
}
