// A short digest of a session id for the log: it tells one session's log lines from another's and
// nothing more (the id itself names a Redis record, so it never goes to the log).
import { createHash } from "node:crypto";

export function sessionDigest(id: string): string {
  return createHash("sha256").update(`portcullis session\u0000${id}`).digest("base64url").slice(0, 16);
}
