// The Helm chart renders the user's config and nothing else. Helm deep-merges the chart's default
// values into the user's, so a sample `config` or `secretEnv` in values.yaml used to land beside the
// user's own (a second provider whose tokens every route without `providers` accepted, and whose IdP
// /readyz waited for). Each example values file in deploy/helm/portcullis/examples/ must come out of
// `helm template` as exactly its `config` plus the chart's `listen`, with exactly its `secretEnv` as
// the container's environment, and pass `portcullis check-config` with that environment; a render
// without a config, without routes, or with a `${VAR}` nothing sets stops with what to set.
// Needs HELM_BIN (bin/test sets it).
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";

type Json = Record<string, any>;
const run = promisify(execFile);
const ROOT = new URL("../../", import.meta.url).pathname;
const CHART = "deploy/helm/portcullis";
const EXAMPLES = `${CHART}/examples`;
const MAIN = join(ROOT, "src/cli/main.ts");
/** A stand-in for every secret: long enough for session keys (32 characters at least). */
const STAND_IN = "stand-in-secret-0123456789abcdef0123456789";

let dir: string;
let examples: string[];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "portcullis-helm-values-"));
  examples = (await readdir(join(ROOT, EXAMPLES))).filter((f) => /^values-.*\.ya?ml$/.test(f)).sort();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function helmBin(): string {
  const bin = process.env["HELM_BIN"];
  if (bin === undefined || bin === "")
    throw new Error("HELM_BIN is not set: run the suite with bin/test, which provisions it");
  return bin;
}

async function helmOutput(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(dir, "helm-cache"),
    HELM_CONFIG_HOME: join(dir, "helm-config"),
    HELM_DATA_HOME: join(dir, "helm-data"),
  };
  return run(helmBin(), args, { cwd: ROOT, timeout: 60_000, env });
}
const helm = async (...args: string[]): Promise<string> => (await helmOutput(...args)).stdout;

/** helm's stderr for a render that must fail. */
async function helmFails(...args: string[]): Promise<string> {
  try {
    await helm(...args);
  } catch (err) {
    return String((err as { stderr?: string }).stderr);
  }
  throw new Error(`helm ${args.join(" ")} succeeded`);
}

async function valuesFile(name: string, values: Json): Promise<string> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, stringify(values));
  return file;
}

const readValues = async (example: string): Promise<Json> =>
  parse(await readFile(join(ROOT, EXAMPLES, example), "utf8")) as Json;

interface Rendered {
  /** The ConfigMap's config.yaml as text and parsed. */
  readonly text: string;
  readonly config: Json;
  /** The Portcullis container's env entries. */
  readonly env: Json[];
}

async function renderChart(valuesPath: string, ...set: string[]): Promise<Rendered> {
  const out = await helm(
    "template",
    "portcullis",
    CHART,
    "--namespace",
    "portcullis-system",
    "-f",
    valuesPath,
    ...set.flatMap((s) => ["--set", s]),
  );
  const objects = parseAllDocuments(out)
    .map((d) => d.toJS() as Json | null)
    .filter((o): o is Json => o !== null);
  const configMap = objects.find((o) => o["kind"] === "ConfigMap" && o["metadata"].name === "portcullis") as Json;
  const deployment = objects.find((o) => o["kind"] === "Deployment") as Json;
  const container = (deployment["spec"].template.spec.containers as Json[]).find(
    (c) => c["name"] === "portcullis",
  ) as Json;
  const text = configMap["data"]["config.yaml"] as string;
  return { text, config: parse(text) as Json, env: (container["env"] ?? []) as Json[] };
}

/** Runs the real CLI's check-config on a config text with an environment; returns its exit code and stderr. */
async function checkConfig(
  name: string,
  text: string,
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, text);
  const args = ["--disable-warning=ExperimentalWarning", MAIN, "check-config", "--config", file];
  const result = await run(process.execPath, args, {
    cwd: ROOT,
    timeout: 60_000,
    env: { PATH: process.env["PATH"] ?? "", HOME: dir, ...env },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
  return result;
}

describe("the chart's example values files", () => {
  it("are there for Keycloak, Auth0 and two tenants", () => {
    expect(examples).toEqual(["values-auth0.yaml", "values-keycloak.yaml", "values-two-tenants.yaml"]);
  });

  it.each(["values-auth0.yaml", "values-keycloak.yaml", "values-two-tenants.yaml"])(
    "%s renders exactly its config plus the chart's listen, in both modes, with no provider it did not name",
    async (example) => {
      const values = await readValues(example);
      for (const [mode, bind] of [
        ["central", "0.0.0.0"],
        ["sidecar", "127.0.0.1"],
      ] as const) {
        const { config } = await renderChart(join(EXAMPLES, example), `mode=${mode}`);
        const { listen, ...rest } = config;
        expect(rest).toEqual(values["config"]);
        expect(Object.keys(config["providers"] ?? {}).sort()).toEqual(Object.keys(values["config"].providers).sort());
        expect(listen).toEqual({ grpc: `${bind}:9191`, auth: `${bind}:8181`, admin: "0.0.0.0:9464" });
      }
    },
  );

  it.each(["values-auth0.yaml", "values-keycloak.yaml", "values-two-tenants.yaml"])(
    "%s gives the container exactly its secretEnv, each variable from its key of existingSecret",
    async (example) => {
      const values = await readValues(example);
      const { env } = await renderChart(join(EXAMPLES, example));
      // NODE_OPTIONS (the chart's heap flags, test/e2e/deployHelmNodeOptions.test.ts) is no secret.
      const fromSecret = Object.fromEntries(
        env.filter((e) => e["name"] !== "NODE_OPTIONS").map((e) => [e["name"], e["valueFrom"]?.secretKeyRef]),
      );
      const expected = Object.fromEntries(
        Object.entries(values["secretEnv"] as Record<string, string>).map(([name, key]) => [
          name,
          { name: values["existingSecret"], key },
        ]),
      );
      expect(fromSecret).toEqual(expected);
    },
  );

  it.each(["values-auth0.yaml", "values-keycloak.yaml", "values-two-tenants.yaml"])(
    "%s renders a config that portcullis check-config accepts with the pod's environment",
    async (example) => {
      const { text, env } = await renderChart(join(EXAMPLES, example));
      // Plain values as the pod has them (NODE_OPTIONS: node takes the chart's flags), secrets stood in for.
      const podEnv = Object.fromEntries(env.map((e) => [e["name"] as string, (e["value"] as string) ?? STAND_IN]));
      const { code, stdout, stderr } = await checkConfig(example, text, podEnv);
      expect(stderr.split("\n").filter((l) => l.startsWith("error: "))).toEqual([]);
      expect(code).toBe(0);
      expect(stdout).toMatch(/^config ok: /);
      // The admin listener on 0.0.0.0 (for the kubelet's probes) is the one expected warning.
      expect(
        stderr
          .split("\n")
          .filter((l) => l.startsWith("warning: "))
          .map((l) => l.split(":")[1]?.trim()),
      ).toEqual(["listen.admin"]);
      // Without the Secret's variables the same config is refused: the environment is what made it pass.
      expect((await checkConfig(`${example}-no-env`, text, {})).code).toBe(1);
    },
  );

  it.each(["values-auth0.yaml", "values-keycloak.yaml", "values-two-tenants.yaml"])(
    "%s passes helm lint --strict in both modes",
    async (example) => {
      for (const mode of ["central", "sidecar"]) {
        const { stdout, stderr } = await helmOutput(
          "lint",
          "--strict",
          CHART,
          "-f",
          join(EXAMPLES, example),
          "--set",
          `mode=${mode}`,
        );
        expect(stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
        // helm lint reports a template's `fail` as an INFO line on stderr and still passes: none here.
        expect(`${stdout}${stderr}`).not.toMatch(/\bFail: /);
      }
    },
  );
});

describe("a user's own values", () => {
  it("render one provider named corp alone: no sample provider beside it and no secret variables it did not ask for", async () => {
    const config = {
      providers: { corp: { issuer: "https://sso.corp.example/realms/corp", audiences: ["corp-api"] } },
      routes: [{ name: "default", match: { path: "/" }, auth: "required" }],
    };
    const rendered = await renderChart(await valuesFile("corp", { config }));
    expect(rendered.config).toEqual({
      listen: { grpc: "0.0.0.0:9191", auth: "0.0.0.0:8181", admin: "0.0.0.0:9464" },
      ...config,
    });
    expect(rendered.env.map((e) => e["name"])).toEqual(["NODE_OPTIONS"]);
    expect(rendered.text).not.toContain("idp.example.com");
  });

  it("take a ${VAR} from extraEnv as well as from secretEnv, and leave a $${ literal alone", async () => {
    const config = {
      providers: {
        corp: {
          issuer: "https://sso.corp.example/realms/corp",
          audiences: ["corp-api"],
          clientId: "portcullis",
          clientSecret: "${CORP_SECRET}",
          redirectUri: "https://app.corp.example/oauth2/callback",
        },
      },
      session: { keys: ["${SESSION_KEY}"], postLogoutRedirect: "/bye?x=$${NOT_A_VARIABLE}" },
      routes: [{ name: "default", match: { path: "/" }, auth: "required" }],
    };
    const file = await valuesFile("extra-env", {
      config,
      secretEnv: { CORP_SECRET: "corp-secret" },
      extraEnv: [{ name: "SESSION_KEY", valueFrom: { secretKeyRef: { name: "other-secret", key: "session-key" } } }],
    });
    const rendered = await renderChart(file);
    expect(rendered.env.map((e) => e["name"])).toEqual(["NODE_OPTIONS", "CORP_SECRET", "SESSION_KEY"]);
    expect(rendered.config["session"]).toEqual(config.session);
  });
});

describe("helm template refuses a config that cannot work, naming what to set", () => {
  it("refuses to render without a config, in either mode, pointing at the examples", async () => {
    for (const mode of ["central", "sidecar"]) {
      const stderr = await helmFails("template", "x", CHART, "--set", `mode=${mode}`);
      expect(stderr).toMatch(/config is required: set it to your Portcullis config/);
      expect(stderr).toContain("deploy/helm/portcullis/examples/");
    }
  });

  it("refuses a config without routes, which Portcullis requires", async () => {
    const stderr = await helmFails("template", "x", CHART, "--set", "config.log.level=debug");
    expect(stderr).toMatch(/config\.routes is required/);
  });

  it("refuses a config naming a ${VAR} that no env entry of the container sets, naming the variable and secretEnv", async () => {
    const file = await valuesFile("missing-env", {
      config: {
        providers: {
          corp: {
            issuer: "https://sso.corp.example/realms/corp",
            audiences: ["corp-api"],
            clientId: "portcullis",
            clientSecret: "${CORP_SECRET}",
            redirectUri: "https://app.corp.example/oauth2/callback",
          },
        },
        session: { keys: ["${SESSION_KEY}"] },
        routes: [{ name: "default", match: { path: "/" }, auth: "required" }],
      },
      secretEnv: { SESSION_KEY: "session-key" },
    });
    const stderr = await helmFails("template", "x", CHART, "-f", file);
    expect(stderr).toMatch(
      /config names \$\{CORP_SECRET\} but the Portcullis container would have no such environment variable \(CORP_SECRET\)/,
    );
    expect(stderr).toMatch(/secretEnv\.CORP_SECRET: <key in portcullis-secrets>/);
    expect(stderr).not.toContain("SESSION_KEY");
  });
});
