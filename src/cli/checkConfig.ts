// `portcullis check-config --config FILE`: validates a config without starting anything. Lists every
// problem with its key path on stderr and exits 1, or prints a summary on stdout and exits 0.
// Warnings go to stderr in both cases. Values that may be secrets are never printed.

import { formatIssue } from "../config/ConfigIssue.ts";
import type { ListenAddress, PortcullisConfig, RouteConfig } from "../config/PortcullisConfig.ts";
import { compileRoutes } from "../core/compileRoutes.ts";
import { loadConfigFile } from "../config/loadConfigFile.ts";
import { parseConfigArgs } from "./parseConfigArgs.ts";

export interface CheckConfigIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: NodeJS.ProcessEnv;
}

const USAGE = "usage: portcullis check-config --config FILE";

const address = (a: ListenAddress): string => (a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`);

function pathText(route: RouteConfig | undefined): string {
  const m = route?.match;
  if (m === undefined) return "every path";
  if (m.pathExact) return `= ${m.pathExact}`;
  if (m.pathGlob) return `glob ${m.pathGlob}`;
  if (m.pathRegex) return `regex ${m.pathRegex}`;
  return m.path ?? "every path";
}

/** Where sessions live and what shares logouts; the Redis URL carries no credentials (the parser refuses them). */
function sessionsText(config: PortcullisConfig): string {
  const redis = config.redis;
  const where =
    redis.sentinels.length > 0
      ? `Redis Sentinel master ${redis.sentinelMaster} via ${redis.sentinels.length} sentinel(s)`
      : redis.url !== null
        ? `Redis ${redis.url}`
        : null;
  if (config.session.store === "redis")
    return `store redis (${where}, key prefix ${redis.keyPrefix}); back-channel logouts shared by every replica`;
  return where === null
    ? "store cookie; back-channel logouts reach only the replica the IdP calls (configure redis for several replicas)"
    : `store cookie; back-channel logouts shared through ${where}`;
}

export function summarizeConfig(file: string, config: PortcullisConfig): string {
  const lines = [`config ok: ${file}`];
  lines.push(
    `listen: grpc ${address(config.listen.grpc)}, auth ${address(config.listen.auth)}, admin ${address(config.listen.admin)}`,
  );
  const providers = Object.values(config.providers);
  lines.push(`providers (${providers.length}):`);
  for (const p of providers)
    lines.push(
      `  ${p.name}: issuer ${p.issuer}, audiences ${p.audiences.join(", ")}${p.preset ? `, preset ${p.preset}` : ""}`,
    );
  if (config.session.keys.length > 0) lines.push(`sessions: ${sessionsText(config)}`);
  // The effective rule list, as the gate will use it: a mode's catch-all rule and defaults included.
  const rules = compileRoutes(config.routes, config.policy);
  const unmatched = config.policy.mode === "rules" ? "; no match = deny" : "";
  lines.push(`routes (${rules.length}, mode ${config.policy.mode}, first match wins${unmatched}):`);
  rules.forEach((rule, i) => {
    const r = rule.route;
    const source = r.index === null ? undefined : config.routes[r.index];
    const hosts = source === undefined || source.match.hosts.length === 0 ? "any host" : source.match.hosts.join(", ");
    const methods =
      source?.match.methods !== undefined && source.match.methods.length > 0
        ? ` ${source.match.methods.join("|")}`
        : "";
    const providersText =
      r.auth === "public" ? "" : `, providers ${r.providers.length > 0 ? r.providers.join(", ") : "all"}`;
    const required = Object.entries(source?.require ?? {})
      .filter(
        ([key, value]) =>
          value !== null && !(Array.isArray(value) && value.length === 0) && !(key === "principal" && value === "any"),
      )
      .map(([key]) => key);
    const requires = required.length === 0 ? "" : `, requires ${required.join(", ")}`;
    lines.push(
      `  ${i}. ${r.name}: ${hosts}${methods} ${pathText(source)} -> auth ${r.auth}${providersText}${requires}`,
    );
  });
  return `${lines.join("\n")}\n`;
}

export async function runCheckConfig(
  argv: string[],
  io: CheckConfigIo = { stdout: process.stdout, stderr: process.stderr, env: process.env },
): Promise<number> {
  const args = parseConfigArgs(argv);
  if ("help" in args) {
    io.stdout.write(`${USAGE}\nValidates the config file; exit 0 when valid, 1 when not.\n`);
    return 0;
  }
  if ("error" in args) {
    io.stderr.write(`error: ${args.error}\n${USAGE}\n`);
    return 1;
  }
  const result = loadConfigFile(args.file, io.env);
  if (!result.ok) {
    for (const problem of result.problems) io.stderr.write(`error: ${formatIssue(problem)}\n`);
  }
  for (const warning of result.warnings) io.stderr.write(`warning: ${formatIssue(warning)}\n`);
  if (!result.ok) {
    io.stderr.write(`${args.file}: ${result.problems.length} problem(s); the config is invalid\n`);
    return 1;
  }
  io.stdout.write(summarizeConfig(args.file, result.config));
  io.stdout.write(`warnings: ${result.warnings.length}${result.warnings.length > 0 ? " (listed on stderr)" : ""}\n`);
  return 0;
}
