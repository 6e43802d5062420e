// Parses raw config data with every rule there is: the config room's own and the route-matching
// warnings only core can give (shadowed rules, path shapes let through). Whatever builds a running
// config from data (the demo, tests) gets through here what `serve` and `check-config` report.

import type { ConfigResult } from "../config/ConfigResult.ts";
import { parseConfig, type ParseConfigOptions } from "../config/parseConfig.ts";
import { checkDenyCodes } from "../core/checkDenyCodes.ts";
import { checkRouteMatching } from "../core/checkRouteMatching.ts";
import { checkDenialFiles } from "./readDenialPage.ts";
import { checkListenTlsFiles } from "./checkListenTlsFiles.ts";

export function parseCheckedConfig(raw: unknown, options: Omit<ParseConfigOptions, "routeRules"> = {}): ConfigResult {
  return parseConfig(raw, {
    ...options,
    routeRules: [checkRouteMatching, checkDenialFiles, checkDenyCodes, checkListenTlsFiles],
  });
}
