// Reads `--name VALUE` or `--name=VALUE` from argv; repeated flags via readFlags.
export function readFlag(argv: readonly string[], name: string): string | undefined {
  const all = readFlags(argv, name);
  return all.length > 0 ? all[all.length - 1] : undefined;
}

export function readFlags(argv: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === name && i + 1 < argv.length) out.push(argv[++i]!);
    else if (arg.startsWith(`${name}=`)) out.push(arg.slice(name.length + 1));
  }
  return out;
}
