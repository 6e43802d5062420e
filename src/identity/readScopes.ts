// The scopes a token grants: the `scope` string (RFC 8693 / RFC 9068, space-separated) and the
// `scp` claim (a list, or a space-separated string in Azure AD), merged. Anything else is ignored.

function addScopes(raw: unknown, into: Set<string>): void {
  const items = typeof raw === "string" ? raw.split(" ") : Array.isArray(raw) ? raw : [];
  for (const item of items) if (typeof item === "string" && item.length > 0) into.add(item);
}

export function readScopes(claims: Readonly<Record<string, unknown>>): ReadonlySet<string> {
  const scopes = new Set<string>();
  if (Object.hasOwn(claims, "scope")) addScopes(claims["scope"], scopes);
  if (Object.hasOwn(claims, "scp")) addScopes(claims["scp"], scopes);
  return scopes;
}
