// Entry point of a `serve --workers` worker process: node:cluster forks it from the supervisor
// (src/app/superviseWorkers.ts) with its place in PORTCULLIS_WORKER; it runs one server until told to stop.
import { runWorker } from "./runWorker.ts";
import { readWorkerPlace } from "./workerMessages.ts";

const place = readWorkerPlace(process.env);
if (place === null) {
  process.stderr.write("portcullis: this file runs only as a worker of `portcullis serve --workers N`\n");
  process.exitCode = 2;
} else {
  runWorker(place).then(
    (code) => finish(code),
    (err: unknown) => {
      process.stderr.write(`portcullis worker ${place.id}: ${err instanceof Error ? err.message : String(err)}\n`);
      finish(1);
    },
  );
}

/** The IPC channel keeps a worker alive: close it, and should a stray handle remain, exit anyway. */
function finish(code: number): void {
  process.exitCode = code;
  if (process.connected) process.disconnect();
  setTimeout(() => process.exit(code), 3000).unref();
}
