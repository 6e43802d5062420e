// A node:net BlockList from the config's `address/prefix` blocks (parsed by the config's CIDR
// format, so each is one valid block): forwardAuth.trustedProxies, log.traceRequests.trustedAddresses.
import { BlockList } from "node:net";

export function blockListOf(blocks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const block of blocks) {
    const [address, prefix] = block.split("/") as [string, string];
    list.addSubnet(address, Number(prefix), address.includes(":") ? "ipv6" : "ipv4");
  }
  return list;
}
