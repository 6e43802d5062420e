// Sets a data property by definition rather than assignment, so that a YAML key named `__proto__`
// stays an ordinary own key (then rejected or ignored) and can never replace an object's prototype.

export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
