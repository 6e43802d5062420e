// Freezes a parsed config and everything inside it, so no room can change it after start-up.
// Only plain objects and arrays are expected (the parser builds nothing else).

export function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
