// The outcome of parsing or loading a config: a frozen config, or every problem found at once.
// Warnings (insecure switches, unreachable routes) come with either outcome.

import type { ConfigIssue } from "./ConfigIssue.ts";
import type { PortcullisConfig } from "./PortcullisConfig.ts";

export type ConfigResult =
  | { readonly ok: true; readonly config: PortcullisConfig; readonly warnings: readonly ConfigIssue[] }
  | { readonly ok: false; readonly problems: readonly ConfigIssue[]; readonly warnings: readonly ConfigIssue[] };
