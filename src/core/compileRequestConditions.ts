// A rule's request conditions (`match.headers`, `.query`, `.sourceAddresses`) compiled once into one
// test the route table runs after host, path and method matched. A condition only narrows a rule:
// anything unreadable (a repeated or undecodable query parameter, an unknown source address) fails it.
import { BlockList, isIP } from "node:net";
import type { RouteMatchConfig } from "../config/PortcullisConfig.ts";
import type { ValueCondition } from "../config/requestConditionSchema.ts";
import { compileLinearRegex } from "../config/compileLinearRegex.ts";

/** What conditions read of a request: the AccessRequest fields, nothing transport-specific. */
export interface ConditionInput {
  readonly headers: ReadonlyMap<string, string>;
  /** The raw path as received, query included. */
  readonly path: string;
  readonly sourceAddress?: string;
}

/** The compiled test, with the first kind of condition that failed (for explain). */
export type RequestConditions = (request: ConditionInput) => "headers" | "query" | "source" | null;

type ValueTest = (value: string | undefined) => boolean;

function valueTest(condition: ValueCondition): ValueTest {
  if ("equals" in condition) return (value) => value === condition.equals;
  if ("present" in condition) return (value) => (value !== undefined) === condition.present;
  const regex = compileLinearRegex(condition.matches);
  return (value) => value !== undefined && regex.test(value);
}

/** null: the rule has no conditions, and the route table does no work for it. */
export function compileRequestConditions(match: RouteMatchConfig): RequestConditions | null {
  const headers = (match.headers ?? []).map((c) => ({ name: c.name, test: valueTest(c) }));
  const query = (match.query ?? []).map((c) => ({ name: c.name, test: valueTest(c) }));
  const sources = match.sourceAddresses ?? [];
  if (headers.length === 0 && query.length === 0 && sources.length === 0) return null;
  const blocks = sources.length === 0 ? null : blockList(sources);
  return (request) => {
    for (const { name, test } of headers) if (!test(request.headers.get(name))) return "headers";
    if (query.length > 0) {
      const params = queryParameters(request.path);
      if (params === null) return "query";
      for (const { name, test } of query) {
        const value = params.get(name);
        if (value === null || !test(value)) return "query";
      }
    }
    if (blocks !== null && !addressIn(blocks, request.sourceAddress)) return "source";
    return null;
  };
}

/**
 * Name → value (undefined: absent, null: given more than once) from the raw query, each part
 * percent-decoded once with `+` as a space; null when some part cannot be decoded.
 */
export function queryParameters(rawPath: string): Map<string, string | null> | null {
  const out = new Map<string, string | null>();
  const start = rawPath.indexOf("?");
  if (start === -1) return out;
  const end = rawPath.indexOf("#", start);
  const query = rawPath.slice(start + 1, end === -1 ? undefined : end);
  if (query === "") return out;
  try {
    for (const part of query.split("&")) {
      if (part === "") continue;
      const eq = part.indexOf("=");
      const decode = (s: string) => decodeURIComponent(s.replaceAll("+", " "));
      const name = decode(eq === -1 ? part : part.slice(0, eq));
      const value = eq === -1 ? "" : decode(part.slice(eq + 1));
      out.set(name, out.has(name) ? null : value);
    }
  } catch {
    return null;
  }
  return out;
}

function blockList(blocks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const block of blocks) {
    const [address, prefix] = block.split("/") as [string, string];
    list.addSubnet(address, Number(prefix), address.includes(":") ? "ipv6" : "ipv4");
  }
  return list;
}

/** An IPv4 peer on a dual-stack socket shows as `::ffff:a.b.c.d` and is checked as the IPv4 address it is. */
function addressIn(blocks: BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return blocks.check(mapped[1] as string, "ipv4");
  const family = isIP(address);
  return family !== 0 && blocks.check(address, family === 6 ? "ipv6" : "ipv4");
}
