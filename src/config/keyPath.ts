// Builds the key paths used in every config message: `routes[0].match.path`,
// `identity.claimHeaders.x-user-name`; keys with unusual characters are quoted (`fields["a b"]`).

export function keyPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  const part = /^[A-Za-z0-9_-]+$/.test(key) ? key : `[${JSON.stringify(key)}]`;
  if (parent === "") return part;
  return part.startsWith("[") ? parent + part : `${parent}.${part}`;
}
