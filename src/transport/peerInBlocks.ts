// Whether a peer's IP address lies in configured address blocks: the forward-auth endpoint's trusted
// proxies, the clients whose trace header is honoured. An address that is not an IP (a pipe, a
// malformed value) is in no block.
import { isIP, type BlockList } from "node:net";

/** An IPv4 peer on a dual-stack socket shows as `::ffff:a.b.c.d`; it is checked as the IPv4 address it is. */
export function peerInBlocks(blocks: BlockList, address: string | undefined): boolean {
  if (address === undefined) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped !== null) return blocks.check(mapped[1] as string, "ipv4");
  const family = isIP(address);
  if (family === 0) return false;
  return blocks.check(address, family === 6 ? "ipv6" : "ipv4");
}
