// The alert rules through Prometheus's own tool: `promtool check rules` accepts every rule file in
// deploy/prometheus (PromQL that parses, templates that expand, durations, labels) and
// `promtool test rules` runs the unit tests beside them (alerts firing on synthetic series and
// staying quiet). A broken copy is refused, so the check is known to bite. Needs PROMTOOL_BIN
// (bin/test builds promtool from the Go module proxy).
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const run = promisify(execFile);
const RULES_DIR = new URL("../../deploy/prometheus/", import.meta.url).pathname;

function promtool(): string {
  const bin = process.env["PROMTOOL_BIN"];
  if (bin === undefined || bin === "")
    throw new Error("PROMTOOL_BIN is not set: run the suite with bin/test, which provisions promtool");
  return bin;
}

interface Outcome {
  readonly code: number;
  readonly output: string;
}

async function runPromtool(args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run(promtool(), args, { cwd: RULES_DIR, timeout: 60_000 });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (err) {
    const failed = err as { code?: number; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === "number" ? failed.code : -1,
      output: `${failed.stdout ?? ""}${failed.stderr ?? ""}`,
    };
  }
}

/** YAML files of deploy/prometheus by what they hold: rule groups, or promtool unit tests. */
async function filesOfKind(kind: "groups" | "tests"): Promise<string[]> {
  const names = (await readdir(RULES_DIR)).filter((name) => /\.ya?ml$/.test(name)).sort();
  const out: string[] = [];
  for (const name of names) {
    const doc = parse(await readFile(join(RULES_DIR, name), "utf8")) as Record<string, unknown> | null;
    if (doc !== null && typeof doc === "object" && kind in doc) out.push(name);
  }
  return out;
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), "portcullis-promtool-"));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe("promtool on deploy/prometheus", () => {
  it("check rules accepts every rule file and counts all its rules", async () => {
    const files = await filesOfKind("groups");
    expect(files).toContain("portcullis-alerts.yaml");
    for (const file of files) {
      const doc = parse(await readFile(join(RULES_DIR, file), "utf8")) as { groups: Array<{ rules: unknown[] }> };
      const rules = doc.groups.reduce((sum, group) => sum + group.rules.length, 0);
      const result = await runPromtool(["check", "rules", file]);
      expect(result, file).toMatchObject({ code: 0 });
      expect(result.output).toContain(`SUCCESS: ${rules} rules found`);
    }
  });

  it("test rules passes the alerts' unit tests", async () => {
    const files = await filesOfKind("tests");
    expect(files).toContain("portcullis-alerts.test.yaml");
    for (const file of files) {
      const result = await runPromtool(["test", "rules", file]);
      expect(result.output, file).toContain("SUCCESS");
      expect(result, file).toMatchObject({ code: 0 });
    }
  });

  it("check rules refuses a rule file with broken PromQL", async () => {
    const text = await readFile(join(RULES_DIR, "portcullis-alerts.yaml"), "utf8");
    const broken = join(scratch, "broken.yaml");
    await writeFile(broken, text.replace("portcullis_provider_ready == 0", "portcullis_provider_ready == ("));
    const result = await runPromtool(["check", "rules", broken]);
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/FAILED/);
  });

  it("test rules fails when an alert does not fire as its test expects", async () => {
    const tests = await readFile(join(RULES_DIR, "portcullis-alerts.test.yaml"), "utf8");
    const rules = await readFile(join(RULES_DIR, "portcullis-alerts.yaml"), "utf8");
    await writeFile(
      join(scratch, "portcullis-alerts.yaml"),
      rules.replace("portcullis_provider_ready == 0", "portcullis_provider_ready == 2"),
    );
    await writeFile(join(scratch, "alerts.test.yaml"), tests);
    const result = await runPromtool(["test", "rules", join(scratch, "alerts.test.yaml")]);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain("alertname: PortcullisProviderNotReady");
  });
});
