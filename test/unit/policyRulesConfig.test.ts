// check-config on the route requirement language: contradictory claim checks, deny rules that could
// never be read or never apply, deny codes that are Portcullis's own, a rule that cannot meet
// policy.defaults, an opt-out of the defaults (a warning), and a deny-all rule hiding later ones.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "portcullis-policy-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

let count = 0;
async function checkConfig(yaml: string, extra: string[] = []) {
  const path = join(dir, `config-${count++}.yaml`);
  writeFileSync(path, `providers:\n  demo: { issuer: "https://idp.example.com", audiences: [api] }\n${yaml}`);
  let stdout = "";
  let stderr = "";
  const code = await runCheckConfig(["--config", path, ...extra], {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env: {},
  });
  return { code, output: stdout + stderr };
}

describe("check-config on claim checks", () => {
  it("rejects equals and notEquals of the same value on one claim, at the later leaf's key path", async () => {
    const { code, output } = await checkConfig(`routes:
  - name: api
    auth: required
    require:
      claims: { all: [{ claim: tier, equals: gold }, { claim: tier, notEquals: gold }] }
`);
    expect(code).toBe(1);
    expect(output).toContain(
      'routes[0].require.claims.all[1]: contradicts routes[0].require.claims.all[0] on claim "tier" (notEquals "gold" but also equals it)',
    );
  });

  it("rejects two different equals, and bounds that leave no number, inside a deny rule's when", async () => {
    const { code, output } = await checkConfig(`routes:
  - name: api
    auth: required
    deny:
      - code: blocked
        when:
          claims: { all: [{ claim: level, atLeast: 5 }, { claim: level, atMost: 3 }] }
`);
    expect(code).toBe(1);
    expect(output).toContain("routes[0].deny[0].when.claims.all[1]: contradicts");
    expect(output).toContain("atMost 3 but also atLeast 5");
  });

  it("rejects an unanchored matches with the fix", async () => {
    const { code, output } = await checkConfig(`routes:
  - { name: api, auth: required, require: { claims: { claim: email, matches: "example\\\\.com" } } }
`);
    expect(code).toBe(1);
    expect(output).toContain('routes[0].require.claims.matches: must be anchored: start with "^" and end with "$"');
  });

  it("warns that an endsWith without @ or . also passes look-alike domains", async () => {
    const { code, output } = await checkConfig(`routes:
  - { name: api, auth: required, require: { claims: { claim: email, endsWith: example.com } } }
`);
    expect(code).toBe(0);
    expect(output).toContain(
      'routes[0].require.claims.endsWith: is "example.com", which also passes a value such as "x@evilexample.com"',
    );
  });
});

describe("check-config on deny rules", () => {
  it("rejects a deny code that is one of Portcullis's own", async () => {
    const { code, output } = await checkConfig(`routes:
  - { name: api, auth: required, deny: [{ code: token_expired, when: { clients: [old] } }] }
`);
    expect(code).toBe(1);
    expect(output).toContain('routes[0].deny[0].code: "token_expired" is one of Portcullis\'s own codes');
  });

  it("rejects a code that is not lower_snake and a status outside 401, 403, 404", async () => {
    const { code, output } = await checkConfig(`routes:
  - { name: api, auth: required, deny: [{ code: Blocked-Client, status: 500 }] }
`);
    expect(code).toBe(1);
    expect(output).toContain("routes[0].deny[0].code: must match");
    expect(output).toContain("routes[0].deny[0].status: must be 403 (forbidden), 404");
  });

  it("rejects require beside a deny rule without when, which denies every request first", async () => {
    const { code, output } = await checkConfig(`routes:
  - { name: api, auth: required, require: { scopes: [a] }, deny: [{ code: closed }] }
`);
    expect(code).toBe(1);
    expect(output).toContain("routes[0].require: is never read: deny[0] has no when");
  });

  it("rejects a when on a public route, where nobody is identified", async () => {
    const { code, output } = await checkConfig(`routes:
  - { name: api, auth: public, deny: [{ code: closed, when: { scopes: [a] } }] }
`);
    expect(code).toBe(1);
    expect(output).toContain("routes[0].deny[0].when: reads the caller, but the route is public");
  });

  it("warns that a deny rule matching every request hides every rule after it", async () => {
    const { code, output } = await checkConfig(`routes:
  - { name: maintenance, auth: public, deny: [{ code: maintenance, status: 404 }] }
  - { name: api, match: { path: /api }, auth: required }
`);
    expect(code).toBe(0);
    expect(output).toMatch(/routes\[1\][^\n]*maintenance/);
  });
});

describe("check-config on policy.defaults", () => {
  it("warns when a rule opts out of the defaults", async () => {
    const { code, output } = await checkConfig(`policy: { defaults: { require: { amr: [mfa] } } }
routes:
  - { name: kiosk, auth: required, defaults: false }
`);
    expect(code).toBe(0);
    expect(output).toContain("routes[0].defaults: is false: this rule does not ask policy.defaults.require");
  });

  it("rejects a rule whose principal or acr can never hold beside the defaults'", async () => {
    const { code, output } = await checkConfig(`policy: { defaults: { require: { principal: user, acr: [gold] } } }
routes:
  - { name: jobs, auth: required, require: { principal: client, acr: [silver] } }
`);
    expect(code).toBe(1);
    expect(output).toContain("routes[0].require.principal: is client but policy.defaults.require.principal is user");
    expect(output).toContain("routes[0].require.acr: shares no value with policy.defaults.require.acr (gold)");
  });
});

describe("check-config --explain-routes", () => {
  it("lists each deny rule, the claim tree with its operators and the defaults each rule asks", async () => {
    const { code, output } = await checkConfig(
      `policy: { defaults: { require: { amr: [mfa] } } }
routes:
  - { name: gone, match: { path: /v1 }, auth: public, deny: [{ code: api_retired, status: 404 }] }
  - name: orders
    match: { path: /orders }
    auth: required
    require: { claims: { all: [{ claim: scope, hasAll: [orders.read] }, { not: { claim: groups, hasAny: [suspended] } }, { claim: level, atLeast: 2 }] } }
    deny: [{ code: blocked_client, when: { clients: [legacy-cli] } }]
  - { name: kiosk, match: { path: /kiosk }, auth: required, defaults: false }
`,
      ["--explain-routes"],
    );
    expect(code).toBe(0);
    expect(output).toContain("deny[0]: api_retired (404) every request");
    expect(output).toContain('deny[0]: blocked_client (403) when client one of "legacy-cli"');
    expect(output).toContain(
      'claims: scope has all of ["orders.read"] and not groups has any of ["suspended"] and level >= 2',
    );
    expect(output).toContain('defaults amr: all of "mfa"');
    expect(output).toContain("defaults: policy.defaults not asked");
  });
});
