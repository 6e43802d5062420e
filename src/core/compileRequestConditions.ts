// Request conditions (a rule's `match.headers`, `.query`, `.sourceAddresses`, `.sni`, `.time`, or
// the same in `require.request`) compiled once into one test the route table runs after host, path
// and method matched. A condition only narrows a rule: anything unreadable (a repeated or undecodable
// query parameter, an unknown source address or SNI, an untrustworthy X-Forwarded-For) fails it.
import { BlockList, isIP } from "node:net";
import type { Clock } from "../clock/Clock.ts";
import { systemClock } from "../clock/systemClock.ts";
import type { ValueCondition } from "../config/requestConditionSchema.ts";
import type { TimeWindow } from "../config/timeWindowSchema.ts";
import { compileLinearRegex } from "../config/compileLinearRegex.ts";
import { compileTimeWindow } from "./compileTimeWindow.ts";
import { forwardedClientAddress, plainAddress } from "./forwardedClientAddress.ts";

/** What conditions read of a request: the AccessRequest fields, nothing transport-specific. */
export interface ConditionInput {
  readonly headers: ReadonlyMap<string, string>;
  /** The raw path as received, query included. */
  readonly path: string;
  readonly sourceAddress?: string;
  /** The TLS server name the client asked for (Envoy's tls_session.sni); absent: none known. */
  readonly sni?: string;
}

/** The conditions as the config gives them (a rule's match, or a require.request). */
export interface RequestConditionConfig {
  readonly headers?: readonly ValueCondition[];
  readonly query?: readonly ValueCondition[];
  readonly sourceAddresses?: readonly string[];
  readonly sni?: readonly string[];
  readonly time?: TimeWindow | null;
}

export interface ConditionOptions {
  /** Where a `time` condition reads the time; default the system's. */
  readonly clock?: Clock;
  /** policy.trustedForwardedHops: 0 (default) reads source.address, N the X-Forwarded-For entry N left of the last. */
  readonly trustedForwardedHops?: number;
  /**
   * A deny rule's `when.request`: a query or source address the conditions cannot read (a repeated
   * or undecodable parameter, which the upstream may well read as the denied value; no trustworthy
   * address) counts as meeting them, so the deny rule fires. Default: it fails them (match, require).
   */
  readonly unreadableHolds?: boolean;
}

/** A kind of condition, named in explain's "does not match" line. */
export type ConditionKind = "headers" | "query" | "source" | "sni" | "time";

/** The compiled test, with the first kind of condition that failed (for explain). */
export type RequestConditions = (request: ConditionInput) => ConditionKind | null;

type ValueTest = (value: string | undefined) => boolean;

function valueTest(condition: ValueCondition): ValueTest {
  if ("equals" in condition) return (value) => value === condition.equals;
  if ("present" in condition) return (value) => (value !== undefined) === condition.present;
  const regex = compileLinearRegex(condition.matches);
  return (value) => value !== undefined && regex.test(value);
}

/** null: there are no conditions, and the route table does no work for them. */
export function compileRequestConditions(
  match: RequestConditionConfig,
  options: ConditionOptions = {},
): RequestConditions | null {
  const headers = (match.headers ?? []).map((c) => ({ name: c.name, test: valueTest(c) }));
  const query = (match.query ?? []).map((c) => ({ name: c.name, test: valueTest(c) }));
  const sources = match.sourceAddresses ?? [];
  const sni = match.sni ?? [];
  const time = match.time ?? null;
  if (headers.length === 0 && query.length === 0 && sources.length === 0 && sni.length === 0 && time === null)
    return null;
  const blocks = sources.length === 0 ? null : blockList(sources);
  const hops = options.trustedForwardedHops ?? 0;
  const serverName = sni.length === 0 ? null : sniTest(sni);
  const inWindow = time === null ? null : compileTimeWindow(time, options.clock ?? systemClock);
  const unreadable = options.unreadableHolds === true;
  return (request) => {
    for (const { name, test } of headers) if (!test(request.headers.get(name))) return "headers";
    if (query.length > 0) {
      const params = queryParameters(request.path);
      if (params === null && !unreadable) return "query";
      for (const { name, test } of query) {
        const value = params === null ? null : params.get(name);
        if (value === null ? !unreadable : !test(value)) return "query";
      }
    }
    if (blocks !== null) {
      const address =
        hops === 0
          ? request.sourceAddress
          : forwardedClientAddress(request.headers.get("x-forwarded-for"), request.sourceAddress, hops);
      const inside = addressIn(blocks, address);
      if (inside === null ? !unreadable : !inside) return "source";
    }
    if (serverName !== null && !serverName(request.sni)) return "sni";
    if (inWindow !== null && !inWindow()) return "time";
    return null;
  };
}

/** A server name as DNS writes it in SNI (RFC 6066 §3): visible ASCII only. */
const ASCII_NAME = /^[\x21-\x7e]+$/;

/**
 * Exact names, and `*.suffix` for exactly one label more; SNI is compared as DNS compares names,
 * ASCII case-insensitively: toLowerCase() would fold a non-ASCII name (KELVIN SIGN) onto another
 * than the one Envoy's filter chains saw, so such a name never matches.
 */
function sniTest(names: readonly string[]): (sni: string | undefined) => boolean {
  const exact = new Set(names.filter((n) => !n.startsWith("*.")).map((n) => n.toLowerCase()));
  const suffixes = names.filter((n) => n.startsWith("*.")).map((n) => n.slice(1).toLowerCase());
  return (sni) => {
    if (sni === undefined || !ASCII_NAME.test(sni)) return false;
    const name = sni.toLowerCase();
    if (exact.has(name)) return true;
    for (const suffix of suffixes)
      if (name.endsWith(suffix) && name.length > suffix.length && !name.slice(0, -suffix.length).includes("."))
        return true;
    return false;
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

/**
 * Whether the address is in the blocks; null when there is no address to check (none known, or not
 * an IP address). An IPv4 peer on a dual-stack socket (`::ffff:a.b.c.d`) is checked as the IPv4 address it is.
 */
function addressIn(blocks: BlockList, address: string | undefined): boolean | null {
  if (address === undefined) return null;
  const plain = plainAddress(address);
  const family = isIP(plain);
  return family === 0 ? null : blocks.check(plain, family === 6 ? "ipv6" : "ipv4");
}
