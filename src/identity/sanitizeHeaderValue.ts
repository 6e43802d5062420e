// Makes a string safe to send as an HTTP header value: control characters (except tab) removed,
// surrounding whitespace trimmed (HTTP drops it anyway), length bounded in UTF-8 bytes without
// splitting a character. Used for free-form claim values; identifiers are never altered (see
// isVerbatimHeaderValue).

// C0 controls except tab, DEL, and C1 controls: CR/LF would split headers, NUL truncates in C code.
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;
const CONTROL_TEST = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/;

/** The longest prefix of `value` that is at most `maxBytes` bytes in UTF-8, cut between characters. */
export function cutToUtf8Bytes(value: string, maxBytes: number): string {
  // A UTF-16 code unit encodes to at most 3 bytes: short strings need no encoding at all.
  if (value.length * 3 <= maxBytes) return value;
  const bytes = Buffer.from(value, "utf8");
  if (bytes.length <= maxBytes) return value;
  let cut = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on the start of a character.
  while (cut > 0 && ((bytes[cut] as number) & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut).toString("utf8");
}

/** Control characters removed, trimmed, cut to `maxBytes`; may return "" (caller then omits it). */
export function sanitizeHeaderValue(value: string, maxBytes: number): string {
  return cutToUtf8Bytes(value.replace(CONTROL, "").trim(), maxBytes).trim();
}

/**
 * True when `value` can be sent exactly as it is: non-empty, no control characters, no surrounding
 * whitespace, within `maxBytes`. Identifiers (sub, email, role names) that fail this are left out
 * rather than changed, because an altered identifier could be somebody else's.
 */
export function isVerbatimHeaderValue(value: string, maxBytes: number): boolean {
  return (
    value.length > 0 &&
    !CONTROL_TEST.test(value) &&
    value.trim() === value &&
    Buffer.byteLength(value, "utf8") <= maxBytes
  );
}
