// The published JSON Schema (deploy/portcullis.schema.json) is generated from configSchema, accepts
// every config the repository ships (examples, README and docs/, demo) as check-config does, and
// rejects what the parser rejects for each key's shape.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCheckConfig } from "../../src/cli/checkConfig.ts";
import { demoConfig } from "../../src/demo/demoConfig.ts";
import { formatIssue } from "../../src/config/ConfigIssue.ts";
import { CLIENT_ID, DNS_NAME, SPIFFE_ID, THUMBPRINT } from "../../src/config/bindingSchema.ts";
import { sha256Digest } from "../../src/config/apiKeysSchema.ts";
import { assertionPrivateKey } from "../../src/config/assertionSchema.ts";
import { configSchema, type SchemaNode } from "../../src/config/configSchema.ts";
import {
  claimPath,
  contextSource,
  cookieDomain,
  cookieName,
  headerName,
  removableHeaderName,
  hostPattern,
  httpUrl,
  issuerUrl,
  listenAddress,
  nonBlank,
  redirectTarget,
  routePath,
  redisUrl,
  sealingSecret,
  webOrigin,
  type StringFormat,
} from "../../src/config/configFormats.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { responseHeaderSource } from "../../src/config/routeAnswerSchema.ts";
import { renderJsonSchema, stringFormatSchema } from "../../src/config/renderJsonSchema.ts";
import { httpMethod, routeExactPath, routeGlob, routeRegex } from "../../src/config/routeFormats.ts";
import { exportHeaderName, otlpEndpoint } from "../../src/config/tracingSchema.ts";
import { proxyCidr } from "../../src/config/forwardAuthSchema.ts";
import { exchangeHeaderName } from "../../src/config/exchangeSchema.ts";
import { JSON_SCHEMA_PATH, renderJsonSchemaFile } from "../../src/config/writeJsonSchema.ts";
import { portcullisConfigBlocks } from "../harness/markdownBlocks.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const REGENERATE = "run `node src/config/writeJsonSchema.ts` to regenerate it";
const SECRET = "s".repeat(40);

// ajv-formats is CommonJS: Node hands over module.exports, which also carries itself as `default`.
// Strict mode refuses unknown keywords and loose types; strictRequired stays off because the claim
// leaf's "exactly one operator" is `oneOf` of `required` lists naming properties declared beside it.
const ajv = new Ajv({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true });
addFormats.default(ajv);
const validateConfig = ajv.compile(renderJsonSchema());

function schemaErrors(data: unknown): string[] {
  return validateConfig(data)
    ? []
    : (validateConfig.errors ?? []).map((e) => `${e.instancePath || "(root)"} ${e.message ?? ""}`);
}

function parseYaml(text: string): unknown {
  return parse(text, { merge: true, uniqueKeys: true });
}

/** Names of the `${NAME}` placeholders in a config text. */
function placeholders(text: string): string[] {
  return [...new Set([...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1] as string))];
}

/** The text with every placeholder set to a long dummy secret, as check-config would see it. */
function withSecrets(text: string): string {
  return text.replace(/\$\{[A-Za-z_][A-Za-z0-9_]*\}/g, SECRET);
}

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "portcullis-schema-"));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function checkConfig(file: string, text: string): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  const env = Object.fromEntries(placeholders(text).map((name) => [name, SECRET]));
  const code = await runCheckConfig(["--config", file], {
    stdout: { write: () => true },
    stderr: { write: (t: string) => (stderr += t) },
    env,
  });
  return { code, stderr };
}

// ---- the configs the repository ships --------------------------------------------------------------

const CONFIG_KEYS = new Set(Object.keys(configSchema.fields));

function yamlFilesUnder(folder: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(folder);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return yamlFilesUnder(path);
    return /\.ya?ml$/.test(name) ? [path] : [];
  });
}

/** A YAML file is a Portcullis config when it is one mapping with `routes` and only config keys. */
function isPortcullisConfig(text: string): boolean {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch {
    return false;
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) return false;
  const keys = Object.keys(data);
  return keys.includes("routes") && keys.every((k) => CONFIG_KEYS.has(k));
}

const configFiles = ["examples", "deploy"]
  .flatMap((folder) => yamlFilesUnder(join(ROOT, folder)))
  .filter((file) => isPortcullisConfig(readFileSync(file, "utf8")))
  .map((file) => relative(ROOT, file));

/** The complete configs shown in README.md and docs/ (test/harness/markdownBlocks.ts). */
const docsBlocks = portcullisConfigBlocks();

const demoYaml = stringify(
  demoConfig({
    issuer: "http://127.0.0.1:4455",
    audience: "demo-api",
    webClient: { id: "demo-web", secret: SECRET },
    machineClientId: "demo-batch",
    exchangeClient: { id: "demo-exchange", secret: SECRET },
    entryOrigin: "https://localhost:8443",
    sessionKey: SECRET,
    ports: { grpc: 9191, auth: 8181, admin: 9464 },
  }),
);

/** [name, YAML text, the file check-config reads: the repository's own, or null to write a copy]. */
const shipped: (readonly [string, string, string | null])[] = [
  ...configFiles.map((file) => [file, readFileSync(join(ROOT, file), "utf8"), join(ROOT, file)] as const),
  ...docsBlocks.map((block) => [`${block.name} yaml block`, block.text, null] as const),
  ["the demo config (src/demo/demoConfig.ts)", demoYaml, null] as const,
];

describe("JSON Schema of the config", () => {
  it("deploy/portcullis.schema.json matches the schema the code uses", () => {
    let committed = "";
    try {
      committed = readFileSync(JSON_SCHEMA_PATH, "utf8");
    } catch {
      expect.fail(`deploy/portcullis.schema.json is missing; ${REGENERATE}`);
    }
    expect(committed, `deploy/portcullis.schema.json is out of date; ${REGENERATE}`).toBe(renderJsonSchemaFile());
  });

  it("declares draft-07 and is a valid draft-07 schema that a strict validator compiles", () => {
    expect(renderJsonSchema()["$schema"]).toBe("http://json-schema.org/draft-07/schema#");
    expect(ajv.validateSchema(renderJsonSchema())).toBe(true);
  });

  it("keeps to draft-07: definitions instead of $defs, no 2020-12 keyword, no $ref beside other keywords", () => {
    const text = JSON.stringify(renderJsonSchema());
    for (const keyword of ["$defs", "prefixItems", "unevaluatedProperties", "unevaluatedItems", "dependentRequired"])
      expect(text).not.toContain(`"${keyword}"`);
    // Draft-07 ignores every keyword beside a $ref, so a validation keyword there would check nothing.
    expect(text).not.toMatch(/,"\$ref"|"\$ref":"[^"]*",/);
    const definitions = Object.keys(renderJsonSchema()["definitions"] as object);
    expect(definitions).toContain("envReference");
    for (const name of definitions) expect(text).toContain(`"#/definitions/${name}"`);
  });

  it("finds the repository's example configs, the README's and docs' examples and the demo config", () => {
    expect(configFiles).toContain(join("examples", "multi-tenant.yaml"));
    expect(docsBlocks.length).toBeGreaterThan(0);
  });

  it.each(configFiles.filter((file) => file.startsWith("examples")))(
    "%s points editors at the schema with a yaml-language-server modeline",
    (file) => {
      const text = readFileSync(join(ROOT, file), "utf8");
      const modeline = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text);
      expect(
        modeline,
        `${file} needs "# yaml-language-server: $schema=<relative path to deploy/portcullis.schema.json>"`,
      ).not.toBeNull();
      expect(resolve(dirname(join(ROOT, file)), modeline?.[1] ?? "")).toBe(JSON_SCHEMA_PATH);
    },
  );

  it.each(shipped)("%s validates against the schema as written and with its secrets set", (_name, text) => {
    expect(schemaErrors(parseYaml(text))).toEqual([]);
    expect(schemaErrors(parseYaml(withSecrets(text)))).toEqual([]);
  });

  it.each(shipped)("%s passes check-config with its secrets set", async (name, text, repositoryFile) => {
    let file = repositoryFile;
    if (file === null) {
      file = join(dir, `${name.replace(/[^A-Za-z0-9]+/g, "-")}.yaml`);
      writeFileSync(file, text);
    }
    const { code, stderr } = await checkConfig(file, text);
    expect(stderr.split("\n").filter((l) => l.startsWith("error: "))).toEqual([]);
    expect(code).toBe(0);
  });
});

// ---- schema and parser agree ------------------------------------------------------------------------

const route = { name: "app", match: { path: "/" }, auth: "required" };
const provider = { issuer: "https://idp.example.com", audiences: ["api"] };
const base = { providers: { corp: provider }, routes: [route] };
const withRoute = (extra: Record<string, unknown>) => ({ ...base, routes: [{ ...route, ...extra }] });
const claims = (all: unknown[]) => withRoute({ require: { claims: { all } } });
const leaf = (i: number) => ({ claim: `c${i}`, equals: i });

const rejected: (readonly [string, unknown])[] = [
  ["an unknown top-level key", { ...base, bogus: 1 }],
  ["an unknown key in a route", withRoute({ matcher: {} })],
  ["an unknown key in a provider", { ...base, providers: { corp: { ...provider, issuerUrl: "https://x.example" } } }],
  ["a wrong auth value", withRoute({ auth: "sometimes" })],
  ["a wrong policy mode", { ...base, policy: { mode: "greylist" } }],
  ["a wrong algorithm", { ...base, providers: { corp: { ...provider, algorithms: ["HS256"] } } }],
  ["a route without its required name", { ...base, routes: [{ match: { path: "/" }, auth: "required" }] }],
  ["a provider without its required issuer", { ...base, providers: { corp: { audiences: ["api"] } } }],
  ["a provider left empty", { ...base, providers: { corp: null } }],
  ["a config without routes", { providers: base.providers }],
  ["an empty route list", { ...base, routes: [] }],
  ["a listen port above 65535", { ...base, listen: { grpc: "0.0.0.0:70000" } }],
  ["a route path with a trailing slash", withRoute({ match: { path: "/api/" } })],
  ["a glob with a partial-segment star", withRoute({ match: { pathGlob: "/files/a*" } })],
  ["an unanchored regex", withRoute({ match: { pathRegex: "/v1/.*" } })],
  ["an exact path with a lower-case escape", withRoute({ match: { pathExact: "/a%2f" } })],
  ["a host with a port", withRoute({ match: { host: "app.example.com:443" } })],
  ["roles with an unknown key", withRoute({ require: { roles: { oneOf: ["admin"] } } })],
  ["an empty role list", withRoute({ require: { roles: [] } })],
  [
    "a claim check with two operators",
    withRoute({ require: { claims: { claim: "tier", equals: "gold", exists: true } } }),
  ],
  ["a claim check with no operator", withRoute({ require: { claims: { claim: "tier" } } })],
  ["a claim branch of 33 checks", claims(Array.from({ length: 33 }, (_, i) => leaf(i)))],
  ["a maxAge of 0", withRoute({ require: { maxAge: 0 } })],
  ["a reserved identity header", { ...base, identity: { headers: { sub: "authorization" } } }],
  ["an upper-case claim header name", { ...base, identity: { claimHeaders: { "X-Tenant": "tenant" } } }],
  ["a provider name with upper-case letters", { ...base, providers: { Corp: provider } }],
  ["an issuer with a query", { ...base, providers: { corp: { ...provider, issuer: "https://idp.example.com/?x=1" } } }],
  ["a short sealing key", { ...base, session: { keys: ["short"] } }],
  ["an integer out of range", { ...base, tokenCache: { maxEntries: 0 } }],
];

const accepted: (readonly [string, unknown])[] = [
  ["the smallest config", base],
  ["empty optional sections", { ...base, identity: null, session: null, listen: null }],
  [
    "a single host written without brackets, in upper case",
    withRoute({ match: { host: "APP.Example.com", path: "/" } }),
  ],
  [
    "roles as anyOf and allOf lists",
    withRoute({ require: { roles: { anyOf: ["a"], allOf: ["b", "c"] }, groups: ["g"] } }),
  ],
  [
    "a nested claim check of 32 checks",
    claims([
      { any: [leaf(0), { claim: "x", oneOf: ["a", 1, true] }] },
      ...Array.from({ length: 31 }, (_, i) => leaf(i)),
    ]),
  ],
  ["a maxAge and its null", withRoute({ require: { maxAge: 3600, acr: ["loa2"] } })],
  ["an IPv6 listen address", { ...base, listen: { grpc: "[::1]:0", admin: "127.0.0.1:9465" } }],
  [
    "a glob, a regex and an exact path with an escape",
    {
      ...base,
      routes: [
        { ...route, name: "a", match: { pathGlob: "/docs/**" } },
        { ...route, name: "b", match: { pathRegex: "^/v[0-9]+/users$" } },
        { ...route, name: "c", match: { pathExact: "/a%20b/" } },
        route,
      ],
    },
  ],
  ["context fields from claims", { ...base, identity: { context: { fields: { id: "sub", tenant: "claim:org.id" } } } }],
];

describe("the schema and the parser", () => {
  it.each(rejected)("both reject %s", (_name, config) => {
    expect(parseConfig(config).ok).toBe(false);
    expect(schemaErrors(config)).not.toEqual([]);
  });

  it.each(accepted)("both accept %s", (_name, config) => {
    const result = parseConfig(config);
    expect(result.ok ? [] : result.problems.map(formatIssue)).toEqual([]);
    expect(schemaErrors(config)).toEqual([]);
  });

  it("accepts a ${NAME} reference where the format would refuse the text itself", () => {
    const config = {
      ...base,
      listen: { grpc: "${GRPC_LISTEN}" },
      providers: { corp: { ...provider, issuer: "${ISSUER}", redirectUri: "https://${HOST}/oauth2/callback" } },
      session: { keys: ["${SESSION_KEY}"] },
    };
    expect(schemaErrors(config)).toEqual([]);
    expect(schemaErrors({ ...config, listen: { grpc: "GRPC_LISTEN" } })).not.toEqual([]);
  });
});

// ---- each string format's pattern against its parse() --------------------------------------------

/** Signing keys of the kinds the assertion takes, as PEM and as a JWK. */
const assertionKeySamples = (): string[] => {
  const ec = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey;
  const ed = generateKeyPairSync("ed25519").privateKey;
  return [
    ec.export({ type: "pkcs8", format: "pem" }).toString(),
    ec.export({ type: "sec1", format: "pem" }).toString(),
    ed.export({ type: "pkcs8", format: "pem" }).toString(),
    JSON.stringify(ed.export({ format: "jwk" })),
    "",
    "not a key",
    '{"kty":"OKP"}',
  ];
};

const samples: (readonly [string, StringFormat, string[]])[] = [
  ["assertion key", assertionPrivateKey, assertionKeySamples()],
  [
    "listen address",
    listenAddress,
    ["0.0.0.0:9191", "[::1]:0", "localhost:65535", "host:65536", "host", ":80", "[::1]", "a b:1", "h:0080"],
  ],
  [
    "issuer URL",
    issuerUrl,
    [
      "https://idp.example.com",
      "https://idp.example.com/realms/a",
      "http://x.example/",
      "https://x/?q",
      "https://x/#f",
      "https://u:p@x",
      "ftp://x",
      "x.example",
      "HTTPS://X.example",
    ],
  ],
  [
    "http(s) URL",
    httpUrl,
    ["https://x.example/cb?q=1", "https://x/#f", "https://u@x/", "mailto:a@b", "https://x.example:8443/a@b"],
  ],
  [
    "header name",
    headerName,
    [
      "x-user-sub",
      "x-a.b_c~",
      "X-User",
      "authorization",
      "cookie",
      "te",
      ":path",
      "x user",
      "x".repeat(100),
      "x".repeat(101),
    ],
  ],
  [
    "exchange header name",
    exchangeHeaderName,
    ["authorization", "x-orders-token", "X-Token", "cookie", "host", "te", ":path", "x y", "x".repeat(101)],
  ],
  [
    "removable header name",
    removableHeaderName,
    [
      "x-forwarded-host",
      "forwarded",
      "te",
      "X-Forwarded-Host",
      "host",
      "authorization",
      "cookie",
      ":path",
      "x y",
      "x".repeat(100),
      "x".repeat(101),
    ],
  ],
  [
    "host pattern",
    hostPattern,
    [
      "app.example.com",
      "*.example.com",
      "APP.example.com",
      "example",
      "*.*.example",
      "-a.example",
      "a_b.example",
      "app.example.com:443",
      `${"a".repeat(63)}.example`,
      `${"a".repeat(64)}.example`,
    ],
  ],
  [
    "route path prefix",
    routePath,
    ["/", "/api", "/api/v1", "/api/", "api", "//a", "/a/./b", "/a/..", "/..a", "/a?b", "/a b", "/a\\b"],
  ],
  [
    "exact route path",
    routeExactPath,
    ["/", "/a/", "/a%20b", "/a%2F", "/a%2f", "/a%41", "/a%7E", "/a%7F", "/a\\b", "/a//", "/.", "/a/*"],
  ],
  ["route glob", routeGlob, ["/docs/**", "/files/*/meta", "/*", "/a*", "/**x", "/a/**/b/", "/a/%2A", "/./x"]],
  [
    "route regex",
    routeRegex,
    ["^/v[0-9]+/users$", "^$", "^/a\\$", "^/a\\\\$", "/a$", "^/a", `^/${"a".repeat(510)}$`, `^/${"a".repeat(509)}$`],
  ],
  ["HTTP method", httpMethod, ["GET", "get", "M-SEARCH", "1GET", "", "A".repeat(33)]],
  ["non-blank string", nonBlank, ["api", "a b", " a", "a ", "", "\ta", "a\n"]],
  ["claim path", claimPath, ["realm_access.roles", "https://example.com/tenant", " x", ""]],
  ["context source", contextSource, ["sub", "client_id", "claim:org.id", "claim:", "claim: x", "subject"]],
  ["response header source", responseHeaderSource, ["sub", "email", "client_id", "claim:team", "roles", "claim:"]],
  [
    "web origin",
    webOrigin,
    [
      "https://app.example.com",
      "https://app.example.com:8443",
      "https://app.example.com:443",
      "http://a.example:80",
      "http://a.example:443",
      "https://App.example.com",
      "https://a.example/",
      "https://a.example/x",
      "ftp://a.example",
      "https://[::1]:8443",
      "https://a.example:08443",
    ],
  ],
  [
    "redirect target",
    redirectTarget,
    ["/", "/signed-out?x=1", "//evil.example", "/a\\b", "https://a.example/bye", "bye"],
  ],
  ["cookie name", cookieName, ["__Host-portcullis", "a.b", "a b", "a;b", "", "x".repeat(65)]],
  [
    "cookie domain",
    cookieDomain,
    ["example.com", "Example.COM", "com", ".example.com", "example.com:443", "a-.example.com"],
  ],
  [
    "proxy CIDR",
    proxyCidr,
    [
      "127.0.0.1/32",
      "::1/128",
      "10.0.0.0/8",
      "fd00::/8",
      "0.0.0.0/0",
      "10.0.0.0/33",
      "::1/129",
      "10.0.0.0",
      "localhost/8",
      "10.0.0.0/08",
      "1.2.3/8",
      "256.0.0.0/8",
      "01.2.3.4/8",
    ],
  ],
  ["sealing secret", sealingSecret, ["x".repeat(32), "x".repeat(31)]],
  [
    "OTLP endpoint",
    otlpEndpoint,
    [
      "http://127.0.0.1:4318/v1/traces",
      "HTTPS://otlp.example.com/otlp/v1/traces?a=1",
      "http://[::1]:4318/v1/traces",
      "http://c:4318",
      "http://c:4318/",
      "https://c/?x=1",
      "grpc://c:4317/v1/traces",
      "https://u:p@c/v1/traces",
      "https://c/v1/traces#f",
      "c:4318/v1/traces",
      "https://c/v1/tra ces",
      "https://c\\v1/traces",
    ],
  ],
  [
    "export header name",
    exportHeaderName,
    ["x-api-key", "Authorization", "a b", "", "x:y", "x".repeat(100), "x".repeat(101)],
  ],
  [
    "SPIFFE ID",
    SPIFFE_ID,
    [
      "spiffe://example.org/ns/billing/sa/api",
      "spiffe://example.org",
      "spiffe://Example.org/x",
      "spiffe://example.org/",
      "spiffe://example.org/a?b",
      "spiffe://example.org/a#b",
      "https://example.org/a",
      "spiffe://example.org/a b",
    ],
  ],
  ["DNS name", DNS_NAME, ["billing.internal", "Billing.Example.com", "*.internal", "a..b", "a.", "-a", "a b", ""]],
  [
    "base64url SHA-256",
    THUMBPRINT,
    [
      "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2",
      "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg",
      "a+b/" + "a".repeat(39),
      "",
    ],
  ],
  [
    "SHA-256 digest",
    sha256Digest,
    [
      "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08",
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a0",
      "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg",
      "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg",
      "my-api-key",
      "",
    ],
  ],
  ["client id", CLIENT_ID, ["billing", "svc:billing@example", "two words", "", "x".repeat(200), "x".repeat(201), "é"]],
  [
    "redis URL",
    redisUrl,
    [
      "redis://127.0.0.1:6379",
      "rediss://redis.internal:6380/0",
      "redis://r/15",
      "redis://r/x",
      "redis://:pw@r",
      "http://r",
      "redis://r?db=1",
      "redis://r/01",
    ],
  ],
];

function formatsIn(node: SchemaNode, out: Set<StringFormat>): Set<StringFormat> {
  if (node.kind === "string" && node.format) out.add(node.format);
  if (node.kind === "map" && node.keyFormat) out.add(node.keyFormat);
  if (node.kind === "map") formatsIn(node.values, out);
  if (node.kind === "list") formatsIn(node.items, out);
  if (node.kind === "object") for (const child of Object.values(node.fields)) formatsIn(child, out);
  return out;
}

describe("string format patterns", () => {
  it("every format the config uses has samples here", () => {
    const sampled = new Set(samples.map(([, format]) => format));
    const missing = [...formatsIn(configSchema, new Set())].filter((f) => !sampled.has(f)).map((f) => f.label);
    expect(missing).toEqual([]);
  });

  it.each(samples)("the %s schema accepts exactly the samples the parser accepts", (_label, format, values) => {
    const validate = ajv.compile(stringFormatSchema(format));
    const disagreements = values.filter((v) => validate(v) !== format.parse(v).ok);
    expect(disagreements).toEqual([]);
  });
});
