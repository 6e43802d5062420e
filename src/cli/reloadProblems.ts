// What a config reload cannot change in a running process, as config problems with their key path:
// the listener addresses (the sockets are bound once, at start) and whether browser login is on
// (the auth listener is started with or without sessions). Everything else may change on reload.
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
  const loginWas = browserLoginEnabled(running);
  if (loginWas !== browserLoginEnabled(next)) {
    problems.push({
      path: "session.keys",
      message: `browser login cannot be turned ${loginWas ? "off" : "on"} by a reload (it needs session.keys and a provider with clientId and redirectUri); restart Portcullis`,
    });
  }
  return problems;
}

function address(listen: ListenAddress): string {
  return listen.host.includes(":") ? `[${listen.host}]:${listen.port}` : `${listen.host}:${listen.port}`;
}
