// A cross-field rule a caller adds to parseConfig because it needs knowledge the config room must
// not import (how the matcher reads route rules). It reads the same possibly partial parser output
// as the rules here, so its findings come with every other problem at once.

import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";

export type ConfigRule = (config: PartialConfig, findings: RuleFindings) => void;
