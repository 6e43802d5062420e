// The arguments of the commands that read a config file (`serve`, `check-config`):
// `--config FILE`, `--config=FILE` or `-c FILE`, and `--help`. Anything else is an error, so a
// mistyped flag is reported instead of silently ignored.

export function parseConfigArgs(argv: readonly string[]): { file: string } | { error: string } | { help: true } {
  let file: string | undefined;
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? "";
    if (arg === "--help" || arg === "-h") return { help: true };
    if (arg === "--config" || arg === "-c") {
      const value = argv[i + 1];
      if (value === undefined || value === "") return { error: "--config needs a file name" };
      file = value;
      i += 1;
    } else if (arg.startsWith("--config=")) {
      file = arg.slice("--config=".length);
    } else {
      return { error: `unknown argument ${JSON.stringify(arg)}` };
    }
  }
  if (file === undefined || file === "") return { error: "--config FILE is required" };
  return { file };
}
