// Vitest setup file: PORTCULLIS_PROPERTY_SEED replays a failing property run. The properties that
// collect every failure (through Envoy) read it themselves (propertySeed.ts); for the others it
// becomes fast-check's global seed, so the seed fast-check printed reproduces the same cases.
import { PROPERTY_SEED_VARIABLE, propertySeed } from "./propertySeed.ts";

if ((process.env[PROPERTY_SEED_VARIABLE] ?? "").trim() !== "") {
  const fc = await import("fast-check");
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: propertySeed() });
}
