// RFC 6238 time-based one-time codes (HMAC-SHA1, as authenticator apps and Keycloak's default OTP
// policy compute them), so a test can pass a real second factor for a credential whose secret it knows.

import { createHmac } from "node:crypto";

export interface TotpOptions {
  /** Epoch milliseconds; default now. */
  readonly at?: number;
  readonly periodSeconds?: number;
  readonly digits?: number;
}

/** `key` is the shared secret's bytes (Keycloak: the UTF-8 bytes of the stored secret string). */
export function totpCode(key: Buffer, options: TotpOptions = {}): string {
  const period = options.periodSeconds ?? 30;
  const digits = options.digits ?? 6;
  const counter = Math.floor((options.at ?? Date.now()) / 1000 / period);
  const message = Buffer.alloc(8);
  message.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac("sha1", key).update(message).digest();
  const offset = (mac[mac.length - 1] as number) & 0x0f;
  const value = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(value % 10 ** digits).padStart(digits, "0");
}
