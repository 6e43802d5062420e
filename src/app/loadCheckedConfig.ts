// Loads a config file with every rule there is: the config room's own and the route-matching
// warnings only core can give (shadowed rules, path shapes let through), so `serve`, a reload and
// `check-config` report the same problems and warnings.

import type { ConfigResult } from "../config/ConfigResult.ts";
import { loadConfigFile } from "../config/loadConfigFile.ts";
import { checkDenyCodes } from "../core/checkDenyCodes.ts";
import { checkRouteMatching } from "../core/checkRouteMatching.ts";
import { checkDenialFiles } from "./readDenialPage.ts";
import { checkListenTlsFiles } from "./checkListenTlsFiles.ts";

export function loadCheckedConfig(file: string, env: NodeJS.ProcessEnv): ConfigResult {
  return loadConfigFile(file, env, [checkRouteMatching, checkDenialFiles, checkDenyCodes, checkListenTlsFiles]);
}
