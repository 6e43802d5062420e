// The one way a request's host is compared with configured host names: adapters use it to fill
// AccessRequest.host, and the route table applies it again so that no adapter can forget it.

/**
 * Lower-cases the host and drops a `:port` and one trailing dot: `admin.example.com.` names the same
 * site as `admin.example.com`, and letting it fall through to a later, looser route would be an
 * authorisation bypass.
 */
export function canonicalHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith("[")) {
    const close = h.indexOf("]");
    if (close !== -1) h = h.slice(0, close + 1);
  } else {
    const colon = h.indexOf(":");
    // More than one colon is an unbracketed IPv6 literal, not host:port.
    if (colon !== -1 && h.indexOf(":", colon + 1) === -1) h = h.slice(0, colon);
  }
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}
