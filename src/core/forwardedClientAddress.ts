// The client address `sourceAddresses` conditions test when `policy.trustedForwardedHops` is N > 0:
// the X-Forwarded-For entry N places left of the last one. Envoy (use_remote_address: true) appends
// the peer it saw last, so with N trusted proxies in front of it the entry N places left is what the
// outermost of them saw. Anything else fails closed: no header, too few entries, an entry that is not
// an IP address, or a last entry that is not the peer (an Envoy that does not append it).
import { isIP } from "node:net";

/** An IPv4 peer on a dual-stack socket shows as `::ffff:a.b.c.d`: compared as the IPv4 address it is. */
export function plainAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped !== null ? (mapped[1] as string) : address.toLowerCase();
}

/** A loopback peer: Envoy then appends its own address instead of the peer's, which Portcullis cannot know. */
function isLoopback(address: string): boolean {
  return address === "::1" || address.startsWith("127.");
}

/**
 * `forwardedFor`: the header as Envoy passes it (repeated lines joined with ",", as HTTP reads a
 * list); `peer`: Envoy's source.address. undefined when no trustworthy address can be read.
 */
export function forwardedClientAddress(
  forwardedFor: string | undefined,
  peer: string | undefined,
  hops: number,
): string | undefined {
  if (forwardedFor === undefined || peer === undefined) return undefined;
  const entries = forwardedFor.split(",");
  if (entries.length <= hops) return undefined;
  const last = (entries[entries.length - 1] as string).trim();
  const chosen = (entries[entries.length - 1 - hops] as string).trim();
  // Every entry from the chosen one rightwards was written by a trusted proxy or Envoy: each must be
  // an address, or the list was not built as the configured hops say.
  for (let i = entries.length - 1 - hops; i < entries.length; i++)
    if (isIP((entries[i] as string).trim()) === 0) return undefined;
  const own = plainAddress(peer);
  if (!isLoopback(own) && plainAddress(last) !== own) return undefined;
  return chosen;
}
