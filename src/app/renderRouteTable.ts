// The route table of `check-config --explain-routes` as text: one block per rule in match order,
// its match on the first line, what it asks on the next, and each overlap the checker found.

import type { RouteRow, RouteTableDescription } from "./describeRoutes.ts";

function matchText(row: RouteRow): string {
  const hosts = row.hosts.length === 0 ? "any host" : `host ${row.hosts.join(", ")}`;
  const methods = row.methods === null ? "any method" : row.methods.join("|");
  const path = row.path.kind === "any" ? "every path" : `${row.path.kind} ${row.path.pattern ?? ""}`;
  const how = [row.caseInsensitive ? "any case" : null, row.trailingSlashToggled ? "trailing slash either way" : null]
    .filter((x) => x !== null)
    .join(", ");
  return `${hosts}, ${methods}, ${path}${how === "" ? "" : ` (${how})`}`;
}

export function renderRouteTable(table: RouteTableDescription): string {
  const unmatched = table.unmatched === "deny" ? "; no match = deny (route_not_found)" : "";
  const lines = [`routes (${table.rules.length}, mode ${table.mode}, first match wins${unmatched}):`];
  for (const row of table.rules) {
    const origin = row.configIndex === null ? `appended by ${table.mode} mode` : `routes[${row.configIndex}]`;
    const shadow = row.mode === "shadow" ? ", shadow: would-be denials counted, the next matching rule decides" : "";
    lines.push(`${row.position}. ${row.name} (${origin}${shadow})`);
    lines.push(`     match: ${matchText(row)}`);
    const providers =
      row.auth === "public" ? "" : `, providers ${row.providers.length > 0 ? row.providers.join(", ") : "all"}`;
    lines.push(`     auth: ${row.auth}${providers}`);
    for (const r of row.requirements) lines.push(`     ${r.what}: ${r.text}`);
    for (const f of row.findings) lines.push(`     ! ${f.message}`);
  }
  const flagged = table.rules.filter((row) => row.findings.length > 0).length;
  lines.push(flagged === 0 ? "overlaps: none" : `overlaps: ${flagged} rule(s) flagged (!)`);
  return `${lines.join("\n")}\n`;
}
