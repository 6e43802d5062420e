// What keeps a forwarded request-target from meaning one thing to Portcullis and another to the
// upstream. nginx, Caddy and Traefik forward the client's target as it came (Envoy normalises it
// first), and the gate decides on the normalised path, so a target that normalisation restructures
// is refused: `/admin/..` is decided as `/` but Express routes it to `/admin`; `//evil/admin` is
// `/evil/admin` to the gate and `/admin` to `new URL(target, base)`; `/public#/../admin` is `/public`
// to the gate and `/admin` to a server that treats `#` as a path character (Go's FileServer).

/** Why `target` (origin form, starting with "/") is read differently upstream; null when it is not. */
export function rawTargetAmbiguity(target: string): string | null {
  // No client sends a fragment: browsers keep it, so a `#` here was put there to be misread.
  if (target.includes("#")) return "carries a '#'";
  const query = target.indexOf("?");
  const segments = (query === -1 ? target : target.slice(0, query)).split("/");
  // segments[0] is what precedes the leading "/": always "".
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === "" && i < segments.length - 1) return "has an empty segment ('//')";
    const dots = segment.length <= 6 ? segment.replace(/%2e/gi, ".") : segment;
    if (dots === "." || dots === "..") return "has a dot segment ('.' or '..', raw or escaped)";
  }
  return null;
}
