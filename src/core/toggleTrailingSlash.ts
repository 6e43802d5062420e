// The other spelling of a path for upstreams that ignore one trailing slash (Express 5 with its
// default `strict: false`, Rails, ASP.NET Core serve `/admin/` and `/admin` with one handler), so a
// protected rule can match both. Paths are normalised already: `//` is merged, so one slash is all a
// path can end in.

/** `path` with its trailing slash removed, or one added when it has none; null for `/` itself. */
export function toggleTrailingSlash(path: string): string | null {
  if (path.length <= 1) return null;
  return path.charCodeAt(path.length - 1) === 0x2f ? path.slice(0, -1) : `${path}/`;
}
