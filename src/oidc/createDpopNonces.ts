// Server-provided DPoP nonces (RFC 9449 §8), stateless: a nonce is a time window's number and an
// HMAC-SHA256 of it under a secret, so any replica with the same secret accepts any other's nonces
// without sharing state. A nonce of the current window or the one before is accepted, so a nonce
// lives between one and two windows; nothing else (no other secret, no forged window) is.
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../clock/Clock.ts";

export interface DpopNonces {
  /** The nonce a client is told to use now (the `DPoP-Nonce` header). */
  current(): string;
  /** Whether `nonce` was issued (with this secret) in the current window or the one before. */
  accepts(nonce: unknown): boolean;
}

export interface DpopNonceOptions {
  /** The HMAC key; at least 32 bytes. Replicas behind one address need the same one. */
  readonly secret: Buffer;
  /** A window's length: a nonce is accepted for one to two of them. */
  readonly windowSeconds: number;
  readonly clock: Clock;
}

/** 6 bytes of window number and 16 of MAC: 30 base64url characters. */
const WINDOW_BYTES = 6;
const MAC_BYTES = 16;
const NONCE_CHARS = Math.ceil(((WINDOW_BYTES + MAC_BYTES) * 4) / 3);
const CONTEXT = "portcullis dpop nonce v1";

export function createDpopNonces(options: DpopNonceOptions): DpopNonces {
  if (options.secret.length < 32) throw new TypeError("a DPoP nonce secret needs at least 32 bytes");
  if (!Number.isInteger(options.windowSeconds) || options.windowSeconds < 1)
    throw new TypeError("a DPoP nonce window is a positive whole number of seconds");
  const windowMs = options.windowSeconds * 1000;
  const windowNow = () => Math.floor(options.clock.now() / windowMs);
  const mac = (window: number) => {
    const bytes = Buffer.alloc(WINDOW_BYTES);
    bytes.writeUIntBE(window, 0, WINDOW_BYTES);
    const tag = createHmac("sha256", options.secret).update(CONTEXT).update(bytes).digest().subarray(0, MAC_BYTES);
    return Buffer.concat([bytes, tag]);
  };
  // The current window's nonce is made once per window, not per check.
  let cached: { window: number; nonce: string } | null = null;
  return {
    current() {
      const window = windowNow();
      if (cached?.window !== window) cached = { window, nonce: mac(window).toString("base64url") };
      return cached.nonce;
    },
    accepts(nonce) {
      if (typeof nonce !== "string" || nonce.length !== NONCE_CHARS || !/^[A-Za-z0-9_-]+$/.test(nonce)) return false;
      const bytes = Buffer.from(nonce, "base64url");
      if (bytes.length !== WINDOW_BYTES + MAC_BYTES) return false;
      const window = bytes.readUIntBE(0, WINDOW_BYTES);
      const now = windowNow();
      if (window !== now && window !== now - 1) return false;
      // Compared as text, so one nonce has one spelling (base64url's last character has spare bits).
      return timingSafeEqual(Buffer.from(nonce, "latin1"), Buffer.from(mac(window).toString("base64url"), "latin1"));
    },
  };
}

/** A secret for one process: nonces it issues are accepted by it alone (one replica, or a test). */
export function generatedNonceSecret(): Buffer {
  return randomBytes(32);
}
