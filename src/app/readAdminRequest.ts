// The small pieces of an admin API request: the bearer token, checked in constant time against the
// configured one, and a small JSON body. Nothing here logs or echoes what it reads.
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** Bodies of the admin API are a few fields; anything longer is refused unread. */
const MAX_BODY_BYTES = 4096;

/**
 * Whether the request carries `Authorization: Bearer <token>`. Both sides are hashed first, so the
 * comparison takes the same time whatever the length or the first differing byte.
 */
export function hasAdminToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization;
  if (typeof header !== "string") return false;
  const m = /^Bearer ([\x21-\x7e]{1,1024})$/.exec(header);
  if (m === null) return false;
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(m[1] as string), digest(token));
}

/** The JSON object of a small `application/json` body, or why it is not one (no body text quoted). */
export async function readJsonObject(
  req: IncomingMessage,
): Promise<{ readonly value: Record<string, unknown> } | { readonly error: string }> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json") return { error: "the body must be application/json" };
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > MAX_BODY_BYTES) return { error: `the body must be at most ${MAX_BODY_BYTES} bytes` };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { error: `the body must be at most ${MAX_BODY_BYTES} bytes` };
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return { error: "the body is not valid JSON" };
  }
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return { error: "the body must be a JSON object" };
  return { value: value as Record<string, unknown> };
}
