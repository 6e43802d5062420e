// Tells whether a value parsed from JSON is a plain object (not null, not an array), the only shape
// a sealed cookie payload or a claims map may have. Used by the strict parsers of this room.

export function isPlainRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
