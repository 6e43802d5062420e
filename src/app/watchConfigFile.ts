// `serve --watch`: calls back when the config file's content changes. It watches the file's
// directory, not the file, so editors that write a new file and rename it over the old one and
// Kubernetes ConfigMap updates (a `..data` symlink swapped to a new directory) are seen as well.
// Events are debounced and the content compared, so a burst of events or a touch is one callback at most.
import { createHash } from "node:crypto";
import { readFileSync, statSync, watch, type FSWatcher } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Clock, ClockTimer } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";

export interface ConfigFileWatcher {
  close(): void;
}

export interface WatchOptions {
  /** Quiet time after the last event before the file is read; default 300 ms. */
  readonly debounceMs?: number;
  readonly logger?: { warn(obj: object, msg: string): void };
  /** Times the debounce; default: the system clock. */
  readonly clock?: Clock;
}

/** Larger files are compared by size and mtime only (the loader refuses them anyway). */
const MAX_HASHED_BYTES = 1024 * 1024;

export function watchConfigFile(file: string, onChange: () => void, options: WatchOptions = {}): ConfigFileWatcher {
  const debounceMs = options.debounceMs ?? 300;
  const clock = options.clock ?? systemClock;
  const path = resolve(file);
  let last = fingerprint(path);
  let timer: ClockTimer | undefined;
  let watcher: FSWatcher | undefined;

  const check = () => {
    timer = undefined;
    const now = fingerprint(path);
    if (now === last) return;
    last = now;
    onChange();
  };
  const close = () => {
    timer?.cancel();
    timer = undefined;
    watcher?.close();
    watcher = undefined;
  };

  // Not persistent: the listeners keep the process alive, the watcher must not keep it from exiting.
  watcher = watch(dirname(path), { persistent: false }, () => {
    timer?.cancel();
    timer = clock.setTimeout(check, debounceMs);
  });
  watcher.on("error", (error: NodeJS.ErrnoException) => {
    options.logger?.warn({ code: error.code, dir: dirname(path) }, "config file watch stopped; SIGHUP still reloads");
    close();
  });
  return { close };
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
