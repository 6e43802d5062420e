// Freezes a verified token's claims (JSON.parse's output: plain objects, arrays, strings, numbers,
// booleans, null) and everything inside them, once per first-seen token: they are cached and handed
// to every later check of the token, so no reader may change them. Unlike config's deepFreeze it
// walks keys and indexes in place instead of listing each object's values in a new array.

export function freezeClaims<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) freezeClaims(value[i]);
  } else {
    const object = value as Record<string, unknown>;
    // Own keys only (JSON.parse makes no others); a prototype's enumerable keys are not ours to freeze.
    for (const key in object) if (Object.hasOwn(object, key)) freezeClaims(object[key]);
  }
  return Object.freeze(value);
}
