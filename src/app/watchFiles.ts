// Calls back when the content of any of a set of files changes. It watches each file's directory,
// not the file, so a rename over a file and a Kubernetes ConfigMap or Secret update (a `..data`
// symlink swapped to a new directory) are seen as well. Events are debounced and contents compared,
// so a burst of events or a touch is one callback at most. The set may change (setFiles).
import { createHash } from "node:crypto";
import { readFileSync, statSync, watch, type FSWatcher } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Clock, ClockTimer } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";

export interface FilesWatcher {
  /** Watches these files from now on (their current contents are the baseline); a directory that cannot be watched is logged, never thrown. */
  setFiles(files: readonly string[]): void;
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before the files are read; default 300 ms. */
  readonly debounceMs?: number;
  readonly logger?: { warn(obj: object, msg: string): void };
  /** Times the debounce; default: the system clock. */
  readonly clock?: Clock;
  /** What the warning says still works when a directory can no longer be watched. */
  readonly fallback?: string;
}

/** Larger files are compared by size and mtime only. */
const MAX_HASHED_BYTES = 1024 * 1024;

/** Throws when a directory cannot be watched at all (as fs.watch does). */
export function watchFiles(files: readonly string[], onChange: () => void, options: WatchOptions = {}): FilesWatcher {
  const debounceMs = options.debounceMs ?? 300;
  const clock = options.clock ?? systemClock;
  let paths: string[] = [];
  let last = "";
  let timer: ClockTimer | undefined;
  const watchers = new Map<string, FSWatcher>();

  const check = () => {
    timer = undefined;
    const now = fingerprints(paths);
    if (now === last) return;
    last = now;
    onChange();
  };
  const onEvent = () => {
    timer?.cancel();
    timer = clock.setTimeout(check, debounceMs);
  };
  const stopWatching = (dir: string) => {
    watchers.get(dir)?.close();
    watchers.delete(dir);
  };
  const setFiles = (next: readonly string[], throwing: boolean) => {
    paths = [...new Set(next.map((file) => resolve(file)))];
    last = fingerprints(paths);
    const dirs = new Set(paths.map((path) => dirname(path)));
    for (const dir of [...watchers.keys()]) if (!dirs.has(dir)) stopWatching(dir);
    for (const dir of dirs) {
      if (watchers.has(dir)) continue;
      let watcher: FSWatcher;
      try {
        // Not persistent: the listeners keep the process alive, the watcher must not keep it from exiting.
        watcher = watch(dir, { persistent: false }, onEvent);
      } catch (error) {
        if (throwing) throw error;
        const code = (error as NodeJS.ErrnoException).code;
        options.logger?.warn({ code, dir }, `cannot watch ${dir}; ${options.fallback ?? "SIGHUP still reloads"}`);
        continue;
      }
      watcher.on("error", (error: NodeJS.ErrnoException) => {
        options.logger?.warn(
          { code: error.code, dir },
          `file watch stopped; ${options.fallback ?? "SIGHUP still reloads"}`,
        );
        stopWatching(dir);
      });
      watchers.set(dir, watcher);
    }
  };
  setFiles(files, true);
  return {
    setFiles: (next) => setFiles(next, false),
    close() {
      timer?.cancel();
      timer = undefined;
      for (const dir of [...watchers.keys()]) stopWatching(dir);
    },
  };
}

/** The contents' digests, or why a file cannot be read (so a file that disappears and comes back counts as a change). */
function fingerprints(paths: readonly string[]): string {
  return paths.map(fingerprint).join("\n");
}

function fingerprint(path: string): string {
  try {
    const stat = statSync(path);
    if (stat.size > MAX_HASHED_BYTES) return `large:${stat.size}:${stat.mtimeMs}`;
    return createHash("sha256").update(readFileSync(path)).digest("base64url");
  } catch (error) {
    return `unreadable:${(error as NodeJS.ErrnoException).code ?? "unknown"}`;
  }
}
