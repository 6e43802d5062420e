// Property tests of the strict authority parser: it accepts exactly the shared grammar (checked with
// an independent regex, the one the shipped Envoy configs use, plus the port range and a real IPv6
// check), and the host it reads is the one Express's req.hostname reads (lower-cased, one trailing dot
// dropped), so Portcullis and an Express upstream never disagree on which site a request is for.
// Runs: PORTCULLIS_PROPERTY_RUNS (bin/fuzz), else the default below; fast-check prints the seed.
import fc from "fast-check";
import { isIPv6 } from "node:net";
import { describe, expect, it } from "vitest";
import { canonicalAuthority } from "../../src/core/canonicalAuthority.ts";
import { propertyRuns } from "../harness/propertyRuns.ts";

const RUNS = propertyRuns(5000);

/** The shared contract's regex of a valid authority (RE2 syntax that JavaScript reads the same way). */
const ENVOY_VALID_AUTHORITY =
  /^(([A-Za-z0-9_-]+)(\.[A-Za-z0-9_-]+)*\.?|\[[0-9A-Fa-f:.]+\])(:(0{0,4}[1-9]|0{0,3}[1-9][0-9]|0{0,2}[1-9][0-9]{2}|0?[1-9][0-9]{3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?$/;

function validByGrammar(authority: string): boolean {
  const m = ENVOY_VALID_AUTHORITY.exec(authority);
  if (m === null) return false;
  const host = m[1] as string;
  if (host.startsWith("[") && !isIPv6(host.slice(1, -1))) return false;
  const port = m[4];
  return port === undefined || (Number(port.slice(1)) >= 1 && Number(port.slice(1)) <= 65535);
}

/** Express 4/5 `req.hostname` (trust proxy off): the Host header up to the port's colon. */
function expressHostname(host: string): string {
  const offset = host[0] === "[" ? host.indexOf("]") + 1 : 0;
  const index = host.indexOf(":", offset);
  return index !== -1 ? host.substring(0, index) : host;
}

const UNITS = [
  "a",
  "B",
  "z",
  "0",
  "9",
  "-",
  "_",
  "admin",
  "example",
  "com",
  ".",
  ".",
  ":",
  ":443",
  ":80",
  ":0",
  ":65536",
  ":99999",
  "::1",
  "[",
  "]",
  "[::1]",
  "[fe80::1]",
  "[::ffff:1.2.3.4]",
  "[v1.x]",
  "@",
  ",",
  ";",
  " ",
  "%",
  "%2e",
  "*",
  "é",
  "\u212A",
  "/",
];
const randomAuthority = fc.array(fc.constantFrom(...UNITS), { maxLength: 10 }).map((units) => units.join(""));

const label = fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/);
const grammarAuthority = fc
  .tuple(
    fc.oneof(
      fc
        .tuple(fc.array(label, { minLength: 1, maxLength: 4 }), fc.boolean())
        .map(([labels, dot]) => labels.join(".") + (dot ? "." : "")),
      fc.ipV6().map((ip) => `[${ip}]`),
    ),
    fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }),
  )
  .map(([host, port]) => (port === undefined ? host : `${host}:${port}`));

describe("authority parsing (property)", () => {
  it("accepts exactly the authorities the grammar describes", () => {
    fc.assert(
      fc.property(fc.oneof(randomAuthority, grammarAuthority, fc.string({ maxLength: 20 })), (authority) => {
        expect(canonicalAuthority(authority) !== null, JSON.stringify(authority)).toBe(validByGrammar(authority));
      }),
      { numRuns: RUNS },
    );
  });

  it("accepts every authority built from the grammar", () => {
    fc.assert(
      fc.property(grammarAuthority, (authority) => {
        expect(canonicalAuthority(authority), authority).not.toBeNull();
      }),
      { numRuns: RUNS },
    );
  });

  it("reads the host Express's req.hostname reads, lower-cased and without a trailing dot", () => {
    fc.assert(
      fc.property(fc.oneof(grammarAuthority, randomAuthority), (authority) => {
        const host = canonicalAuthority(authority);
        if (host === null) return;
        const express = expressHostname(authority).toLowerCase();
        expect(host, authority).toBe(express.endsWith(".") ? express.slice(0, -1) : express);
      }),
      { numRuns: RUNS },
    );
  });

  it("gives a canonical host that is itself valid and canonical", () => {
    fc.assert(
      fc.property(fc.oneof(grammarAuthority, randomAuthority), (authority) => {
        const host = canonicalAuthority(authority);
        if (host !== null) expect(canonicalAuthority(host)).toBe(host);
      }),
      { numRuns: RUNS },
    );
  });
});
