// What a config reload cannot change in a running process, as config problems with their key path:
// the listener addresses and TLS settings (the sockets are bound once, at start; the TLS files'
// contents are watched by the listeners), whether browser login is on (the auth listener is started
// with or without sessions), tracing (set up once per process), and Redis and the session store
// (connected once per process), the forward-auth endpoint's own listener.
// Everything else may change on reload.
import { isDeepStrictEqual } from "node:util";
import type { ConfigIssue } from "../config/ConfigIssue.ts";
import type { ListenAddress, PortcullisConfig } from "../config/PortcullisConfig.ts";
import { browserLoginEnabled } from "./buildCheckPipeline.ts";

export function reloadProblems(running: PortcullisConfig, next: PortcullisConfig): ConfigIssue[] {
  const problems: ConfigIssue[] = [];
  for (const name of ["grpc", "auth", "admin"] as const) {
    const was = running.listen[name];
    const now = next.listen[name];
    if (isDeepStrictEqual(was, now)) continue;
    problems.push({
      path: `listen.${name}`,
      message: `cannot change on reload (started with ${address(was)}, the file now says ${address(now)}); restart Portcullis to move a listener`,
    });
  }
  if (!isDeepStrictEqual(running.listen.tls, next.listen.tls)) {
    problems.push({
      path: "listen.tls",
      message:
        "cannot change on reload (the listeners are set up once, at start); the files it names are watched, so replace their contents to rotate a certificate, or restart Portcullis to change these settings",
    });
  }
  const loginWas = browserLoginEnabled(running);
  if (loginWas !== browserLoginEnabled(next)) {
    problems.push({
      path: "session.keys",
      message: `browser login cannot be turned ${loginWas ? "off" : "on"} by a reload (it needs session.keys and a provider with clientId and redirectUri); restart Portcullis`,
    });
  }
  if (!isDeepStrictEqual(running.redis, next.redis)) {
    problems.push({
      path: "redis",
      message:
        "cannot change on reload (the connection is made once, at start); restart Portcullis to change Redis settings",
    });
  }
  if (running.session.store !== next.session.store) {
    problems.push({
      path: "session.store",
      message: `cannot change on reload (started with "${running.session.store}"; sessions of one store are unknown to the other); restart Portcullis, and expect users to sign in again`,
    });
  }
  const forwardWas = ownForwardAuthListener(running);
  const forwardNow = ownForwardAuthListener(next);
  if (!isDeepStrictEqual(forwardWas, forwardNow)) {
    problems.push({
      path: "forwardAuth.listen",
      message: `the forward-auth listener cannot be started, stopped or moved on reload (started with ${forwardWas === null ? "none" : address(forwardWas)}, the file now says ${forwardNow === null ? "none" : address(forwardNow)}); restart Portcullis`,
    });
  }
  if (!isDeepStrictEqual(running.tracing, next.tracing)) {
    problems.push({
      path: "tracing",
      message: "cannot change on reload (the tracer is set up once, at start); restart Portcullis to change tracing",
    });
  }
  return problems;
}

/** The forward-auth endpoint's own listener, when it has one (enabled with `listen` set). */
export function ownForwardAuthListener(config: PortcullisConfig): ListenAddress | null {
  const section = config.forwardAuth;
  return section?.enabled === true && section.listen !== null ? section.listen : null;
}

function address(listen: ListenAddress): string {
  return listen.host.includes(":") ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}
