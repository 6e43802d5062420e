// The canonical form of a configured host name, so that it compares equal with what
// canonicalAuthority makes of a request's :authority.

/** Lower-cased, one trailing dot dropped: `admin.example.com.` names the same site as `admin.example.com`. */
export function canonicalHost(name: string): string {
  const host = name.toLowerCase();
  return host.endsWith(".") ? host.slice(0, -1) : host;
}
