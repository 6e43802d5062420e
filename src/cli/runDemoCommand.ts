// `portcullis demo ...`: parses the arguments (parseDemoArgs.ts) and runs the demo in the
// foreground or `demo token`; the demo itself lives in src/demo. Exit 2 on a usage error.

import { DEMO_USAGE, parseDemoArgs } from "./parseDemoArgs.ts";

export async function runDemoCommand(argv: readonly string[]): Promise<number> {
  const args = parseDemoArgs(argv);
  switch (args.command) {
    case "help":
      process.stdout.write(DEMO_USAGE);
      return 0;
    case "error":
      process.stderr.write(`${args.error}\n${args.usage}\n`);
      return 2;
    case "token":
      return (await import("../demo/runDemoToken.ts")).runDemoToken(args.request);
    case "run":
      return (await import("../demo/runDemoIfInstalled.ts")).runDemoIfInstalled({ ports: args.ports });
  }
}
