// The summary `check-config` prints for a valid config: listeners, providers, sessions, and the
// effective rule list as the gate will use it (a mode's catch-all rule and defaults included).
// Values that may be secrets are never printed.

import type { ListenAddress, PortcullisConfig, RouteConfig } from "../config/PortcullisConfig.ts";
import { compileRoutes } from "../core/compileRoutes.ts";
import { providersDemandCertificates } from "./clientCertificateUse.ts";

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

/** How Envoy reaches the gRPC and auth listeners; plaintext is said so, it is for loopback and meshes. */
function tlsText(config: PortcullisConfig): string {
  const tls = config.listen.tls;
  if (tls.certFile === null)
    return "off: grpc and auth are plaintext (for a sidecar on loopback or a mesh that encrypts; central mode should set listen.tls)";
  const clients =
    tls.clientCaFile === null
      ? "no client certificate asked for"
      : tls.requireClientCertificate
        ? `client certificate required (CA ${tls.clientCaFile})`
        : `client certificate asked for, not enforced (CA ${tls.clientCaFile})`;
  return `on for grpc and auth (${tls.certFile}, ${tls.minVersion}+, ${clients}; files watched, reloaded without a restart)`;
}

export function summarizeConfig(file: string, config: PortcullisConfig): string {
  const lines = [`config ok: ${file}`];
  lines.push(
    `listen: grpc ${address(config.listen.grpc)}, auth ${address(config.listen.auth)}, admin ${address(config.listen.admin)}`,
  );
  lines.push(`tls: ${tlsText(config)}`);
  if (config.admin?.api.enabled === true)
    lines.push(
      `admin API: on (session control under /admin/ on ${address(config.listen.admin)}; token from the environment)`,
    );
  const providers = Object.values(config.providers);
  lines.push(`providers (${providers.length}):`);
  for (const p of providers)
    lines.push(
      `  ${p.name}: issuer ${p.issuer}, audiences ${p.audiences.join(", ")}${p.preset ? `, preset ${p.preset}` : ""}`,
    );
  if (config.session.keys.length > 0) lines.push(`sessions: ${sessionsText(config)}`);
  // How many keys, inline and from the file together (their digests are never shown).
  if (config.apiKeys?.enabled === true) {
    const from = config.apiKeys.file === null ? "" : ` (with those of ${config.apiKeys.file})`;
    lines.push(`API keys: ${config.apiKeys.keys.length}${from}`);
  }
  // The effective rule list, as the gate will use it: a mode's catch-all rule and defaults included.
  const rules = compileRoutes(config.routes, config.policy, {
    providersDemandCertificates: providersDemandCertificates(config),
  });
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
      .filter(([key, value]) => !requiresNothing(value) && !(key === "principal" && value === "any"))
      .map(([key]) => key);
    const requires = required.length === 0 ? "" : `, requires ${required.join(", ")}`;
    lines.push(
      `  ${i}. ${r.name}: ${hosts}${methods} ${pathText(source)} -> auth ${r.auth}${providersText}${requires}`,
    );
  });
  return `${lines.join("\n")}\n`;
}

/** A requirement part the parser fills in when it is not given: null, an empty list, or an object of such (`request`). */
function requiresNothing(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.values(value).every(requiresNothing);
  return false;
}
