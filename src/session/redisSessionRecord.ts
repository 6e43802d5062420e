// A Redis session record: the session as JSON, AES-256-GCM with a key derived (HKDF) from the
// per-session secret that only the browser's cookie carries, bound to its Redis key. A dump of
// Redis alone reveals no token; a record moved to another key does not open.
import { createCipheriv, createDecipheriv, createSecretKey, hkdfSync, randomBytes, type KeyObject } from "node:crypto";
import { parseSession, type Session } from "./Session.ts";

/** What the session's cookie holds: the session id and the secret its record is sealed with. */
export interface SessionRef {
  readonly id: string;
  readonly secret: Buffer;
}

const RECORD_VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SECRET_BYTES = 32;
const HKDF_SALT = "portcullis/redis-session/v1";

export function newSessionRef(id: string): SessionRef {
  return { id, secret: randomBytes(SECRET_BYTES) };
}

/** The ref in an unsealed cookie payload `{ i, k }`, or null when it is not one. */
export function sessionRefOf(payload: Record<string, unknown>): SessionRef | null {
  const { i, k } = payload;
  if (typeof i !== "string" || !/^[A-Za-z0-9_-]{16,64}$/.test(i) || typeof k !== "string") return null;
  const secret = Buffer.from(k, "base64url");
  if (secret.length !== SECRET_BYTES || secret.toString("base64url") !== k) return null;
  return { id: i, secret };
}

/** `redisKey` is the record's own key, bound as additional data. */
export function sealSessionRecord(session: Session, ref: SessionRef, redisKey: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", recordKey(ref), iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(redisKey));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(session), "utf8"), cipher.final()]);
  return Buffer.concat([Buffer.of(RECORD_VERSION), iv, ciphertext, cipher.getAuthTag()]);
}

/** The session, or null for a record that does not open with this ref or is not this session's. */
export function openSessionRecord(record: Buffer, ref: SessionRef, redisKey: string): Session | null {
  if (record.length < 1 + IV_BYTES + TAG_BYTES || record[0] !== RECORD_VERSION) return null;
  try {
    const decipher = createDecipheriv("aes-256-gcm", recordKey(ref), record.subarray(1, 1 + IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(redisKey));
    decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
    const plain = Buffer.concat([
      decipher.update(record.subarray(1 + IV_BYTES, record.length - TAG_BYTES)),
      decipher.final(),
    ]);
    const session = parseSession(JSON.parse(plain.toString("utf8")) as Record<string, unknown>);
    if (session === null || session.id !== ref.id) return null;
    return session;
  } catch {
    return null;
  }
}

function recordKey(ref: SessionRef): KeyObject {
  return createSecretKey(
    Buffer.from(hkdfSync("sha256", ref.secret, HKDF_SALT, `portcullis redis session ${ref.id}`, 32)),
  );
}
