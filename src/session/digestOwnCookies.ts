// A digest of the request's cookies that a store owns (names and values, order-free): the key of a
// store's in-memory copies, so the same cookie bytes find the same session and tampered ones miss.
import { createHash } from "node:crypto";

/** null when the request carries none of the store's cookies. */
export function digestOwnCookies(jar: ReadonlyMap<string, string>, owns: (name: string) => boolean): string | null {
  const ours: string[] = [];
  for (const [name, value] of jar) if (owns(name)) ours.push(`${name}=${value}`);
  if (ours.length === 0) return null;
  return createHash("sha256").update(ours.sort().join(";")).digest("base64url");
}
