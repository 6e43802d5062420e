// `serve --watch`: calls back when the config file's content changes, or that of a file the config
// names and reads at each reload (`follow`: the API keys file, denial pages). It watches each file's
// directory, not the file, so editors that write a new file and rename it over the old one and
// Kubernetes ConfigMap and Secret updates (a `..data` symlink swapped to a new directory) are seen as
// well. Events are debounced and contents compared, so a burst of events or a touch is one callback at most.
import { createHash } from "node:crypto";
import { readFileSync, statSync, watch, type FSWatcher } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Clock, ClockTimer } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";

export interface ConfigFileWatcher {
  /** From now on also watch these files (replacing the ones followed before); the config file stays watched. */
  follow(files: readonly string[]): void;
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before the files are read; default 300 ms. */
  readonly debounceMs?: number;
  readonly logger?: { warn(obj: object, msg: string): void };
  /** Times the debounce; default: the system clock. */
  readonly clock?: Clock;
}

/** Larger files are compared by size and mtime only (the loader refuses them anyway). */
const MAX_HASHED_BYTES = 1024 * 1024;

/** Throws when the config file's directory cannot be watched (followed files only log). */
export function watchConfigFile(file: string, onChange: () => void, options: WatchOptions = {}): ConfigFileWatcher {
  const debounceMs = options.debounceMs ?? 300;
  const clock = options.clock ?? systemClock;
  const configPath = resolve(file);
  // Path → its content's fingerprint when last seen; directory → its watcher.
  const seen = new Map<string, string>([[configPath, fingerprint(configPath)]]);
  const watchers = new Map<string, FSWatcher>();
  let timer: ClockTimer | undefined;

  const check = () => {
    timer = undefined;
    let changed = false;
    for (const [path, last] of seen) {
      const now = fingerprint(path);
      if (now === last) continue;
      seen.set(path, now);
      changed = true;
    }
    if (changed) onChange();
  };
  const watchDirectory = (dir: string) => {
    // Not persistent: the listeners keep the process alive, the watcher must not keep it from exiting.
    const watcher = watch(dir, { persistent: false }, () => {
      timer?.cancel();
      timer = clock.setTimeout(check, debounceMs);
    });
    watcher.on("error", (error: NodeJS.ErrnoException) => {
      options.logger?.warn({ code: error.code, dir }, "config file watch stopped; SIGHUP still reloads");
      watcher.close();
      watchers.delete(dir);
    });
    watchers.set(dir, watcher);
  };
  watchDirectory(dirname(configPath));

  return {
    follow(files) {
      const wanted = new Set([configPath, ...files.map((f) => resolve(f))]);
      for (const path of seen.keys()) if (!wanted.has(path)) seen.delete(path);
      for (const path of wanted) if (!seen.has(path)) seen.set(path, fingerprint(path));
      const dirs = new Set([...wanted].map((path) => dirname(path)));
      for (const [dir, watcher] of watchers) {
        if (dirs.has(dir)) continue;
        watcher.close();
        watchers.delete(dir);
      }
      for (const dir of dirs) {
        if (watchers.has(dir)) continue;
        try {
          watchDirectory(dir);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          options.logger?.warn({ code, dir }, "cannot watch a file the config reads; SIGHUP still reloads");
        }
      }
    },
    close() {
      timer?.cancel();
      timer = undefined;
      for (const watcher of watchers.values()) watcher.close();
      watchers.clear();
    },
  };
}

/** The content's digest, or why it cannot be read (so a file that disappears and comes back counts as a change). */
function fingerprint(path: string): string {
  try {
    const stat = statSync(path);
    if (stat.size > MAX_HASHED_BYTES) return `large:${stat.size}:${stat.mtimeMs}`;
    return createHash("sha256").update(readFileSync(path)).digest("base64url");
  } catch (error) {
    return `unreadable:${(error as NodeJS.ErrnoException).code ?? "unknown"}`;
  }
}
