// Listen/close helpers for the demo's small node:http servers (dev IdP, echo upstream).
// A taken port becomes an error that names it, so `portcullis demo` can say which one.

import type { Server } from "node:http";

export function listenServer(server: Server, port: number, host = "127.0.0.1"): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      reject(error.code === "EADDRINUSE" ? new Error(`port ${host}:${port} is already in use`) : error);
    };
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Closes the server and its keep-alive connections at once. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
