// Request conditions (`match` or `require.request`, or a deny rule's `when.request`) as one line of
// the route table (`check-config --explain-routes`): `header x-api-version = "2" and source in
// 10.0.0.0/8 and time mon-fri 09:00-18:00 Europe/Berlin`. Null when none is set.
import type { ValueCondition } from "../config/requestConditionSchema.ts";
import type { RequestConditionConfig } from "../core/compileRequestConditions.ts";

function valueText(what: string, condition: ValueCondition): string {
  if ("equals" in condition) return `${what} ${condition.name} = ${JSON.stringify(condition.equals)}`;
  if ("matches" in condition) return `${what} ${condition.name} matches ${JSON.stringify(condition.matches)}`;
  return `${what} ${condition.name} ${condition.present ? "present" : "absent"}`;
}

export function describeRequestConditions(conditions: RequestConditionConfig | undefined): string | null {
  if (conditions === undefined) return null;
  const parts = [
    ...(conditions.headers ?? []).map((c) => valueText("header", c)),
    ...(conditions.query ?? []).map((c) => valueText("query", c)),
  ];
  const sources = conditions.sourceAddresses ?? [];
  if (sources.length > 0) parts.push(`source in ${sources.join(", ")}`);
  const sni = conditions.sni ?? [];
  if (sni.length > 0) parts.push(`sni one of ${sni.join(", ")}`);
  const time = conditions.time ?? null;
  if (time !== null) {
    const hours = time.from === null ? "all day" : `${time.from}-${time.to}`;
    parts.push(`time ${time.days.join(",")} ${hours} ${time.timeZone}`);
  }
  return parts.length === 0 ? null : parts.join(" and ");
}
