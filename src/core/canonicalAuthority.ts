// The one way a request's Host / :authority becomes the host its routes are matched on. Strict, so
// one authority has one meaning for Portcullis, Envoy and the upstream:
//
//   authority = host [ ":" port ]        port  = 1*5 DIGIT, 1..65535
//   host      = reg-name [ "." ] / "[" IPv6 literal "]"
//   reg-name  = label *( "." label )     label = 1*( ALPHA / DIGIT / "-" / "_" )
//
// Anything else (`a.example.com:443:80`, `evil@a.example.com`, `a,b`, `a..b`, `localhost..`, an
// unbracketed IPv6 literal, an empty host, escapes, spaces) is refused (400 host_invalid): upstreams
// disagree on what such a value names (Express's req.hostname reads `a.example.com:443:80` as
// `a.example.com`), and a host rule must never be sidestepped by a spelling it did not expect.

import { isIPv6 } from "node:net";

function isLabelChar(code: number): boolean {
  return (
    (code >= 0x61 && code <= 0x7a) ||
    (code >= 0x41 && code <= 0x5a) ||
    (code >= 0x30 && code <= 0x39) ||
    code === 0x2d ||
    code === 0x5f
  );
}

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function portProblem(authority: string, colon: number): string | null {
  if (authority.indexOf(":", colon + 1) !== -1) return "more than one ':' (two ports, or an unbracketed IPv6 literal)";
  const length = authority.length - colon - 1;
  if (length === 0) return "empty port after ':'";
  if (length > 5) return "port longer than 5 digits";
  let port = 0;
  for (let i = colon + 1; i < authority.length; i++) {
    const code = authority.charCodeAt(i);
    if (!isDigit(code)) return "port is not a number";
    port = port * 10 + (code - 0x30);
  }
  return port >= 1 && port <= 65535 ? null : "port outside 1..65535";
}

/** Why the authority is not `host[:port]` as the grammar above says, or null when it is. */
export function authorityProblem(authority: string): string | null {
  if (authority.length === 0) return "empty authority";
  if (authority.charCodeAt(0) === 0x5b) {
    const close = authority.indexOf("]");
    if (close === -1) return "'[' without ']'";
    const literal = authority.slice(1, close);
    if (!/^[0-9A-Fa-f:.]+$/.test(literal) || !isIPv6(literal)) return "not an IPv6 literal between '[' and ']'";
    if (close === authority.length - 1) return null;
    if (authority.charCodeAt(close + 1) !== 0x3a) return "text after ']' that is not a port";
    return portProblem(authority, close + 1);
  }
  let labelStart = 0;
  for (let i = 0; i < authority.length; i++) {
    const code = authority.charCodeAt(i);
    if (isLabelChar(code)) continue;
    if (code === 0x2e) {
      if (i === labelStart) return i === 0 ? "host starts with '.'" : "empty label ('..') in the host";
      labelStart = i + 1;
      continue;
    }
    if (code === 0x3a) {
      if (i === 0) return "empty host before ':'";
      return portProblem(authority, i);
    }
    if (code === 0x40) return "'@' in the authority (user information)";
    return `character ${JSON.stringify(String.fromCharCode(code))} is not allowed in a host name`;
  }
  return null;
}

// The last two authorities seen and their canonical hosts. A Check parses its :authority (the
// adapter) and the route table parses the result again, and a deployment serves few hosts, so two
// slots answer nearly every call with a string comparison instead of a parse. A pure function's
// memo: whatever a slot holds is what the parse would return.
let lastAuthority: string | undefined;
let lastHost: string | null = null;
let previousAuthority: string | undefined;
let previousHost: string | null = null;

/**
 * The host of a valid authority as routes are matched on it: lower-cased, port dropped, one
 * trailing dot dropped (`Admin.Example.com.:443` is `admin.example.com`; an IPv6 literal keeps its
 * brackets). null when authorityProblem finds a problem: callers fail closed on it.
 */
export function canonicalAuthority(authority: string): string | null {
  if (authority === lastAuthority) return lastHost;
  if (authority === previousAuthority) return previousHost;
  const host = parseCanonicalAuthority(authority);
  previousAuthority = lastAuthority;
  previousHost = lastHost;
  lastAuthority = authority;
  lastHost = host;
  return host;
}

function parseCanonicalAuthority(authority: string): string | null {
  if (authorityProblem(authority) !== null) return null;
  let end: number;
  if (authority.charCodeAt(0) === 0x5b) {
    end = authority.indexOf("]") + 1;
  } else {
    const colon = authority.indexOf(":");
    end = colon === -1 ? authority.length : colon;
    if (authority.charCodeAt(end - 1) === 0x2e) end--;
  }
  const host = end === authority.length ? authority : authority.slice(0, end);
  return host.toLowerCase();
}
