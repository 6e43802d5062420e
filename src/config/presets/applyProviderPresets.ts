// Fills in each provider's preset values under the keys the user did not write, on the raw YAML data
// before the schema parse, so preset values are checked exactly like user input and a written key
// always wins (for `logout`, field by field). An unknown preset is left for the schema to report.
import { setOwn } from "../setOwn.ts";
import type { PresetInput } from "./IdpPreset.ts";
import { isPresetName, presetNamed } from "./presetRegistry.ts";

/** Keys whose mapping is merged field by field: the user's fields over the preset's. */
const FIELDWISE = new Set(["logout"]);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const text = (value: unknown): string | undefined =>
  typeof value === "string" && value.trim() !== "" ? value : undefined;

function inputOf(provider: Record<string, unknown>): PresetInput {
  const audiences =
    Array.isArray(provider["audiences"]) && provider["audiences"].every((a) => typeof a === "string")
      ? (provider["audiences"] as string[])
      : undefined;
  const input: { -readonly [K in keyof PresetInput]: PresetInput[K] } = {};
  const issuer = text(provider["issuer"]);
  const clientId = text(provider["clientId"]);
  const claimNamespace = text(provider["claimNamespace"]);
  if (issuer !== undefined) input.issuer = issuer;
  if (clientId !== undefined) input.clientId = clientId;
  if (audiences !== undefined) input.audiences = audiences;
  if (claimNamespace !== undefined) input.claimNamespace = claimNamespace;
  return input;
}

/** One provider with its preset's values under the keys it lacks; returned unchanged without a known preset. */
export function applyPreset(provider: Record<string, unknown>): Record<string, unknown> {
  const name = provider["preset"];
  if (!isPresetName(name)) return provider;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(provider)) setOwn(out, key, value);
  for (const [key, value] of Object.entries(presetNamed(name).values(inputOf(provider)))) {
    const written = out[key];
    if (!Object.hasOwn(provider, key)) setOwn(out, key, value);
    else if (FIELDWISE.has(key) && isPlainObject(written) && isPlainObject(value)) {
      const merged: Record<string, unknown> = {};
      for (const [field, v] of Object.entries(value)) setOwn(merged, field, v);
      for (const [field, v] of Object.entries(written)) setOwn(merged, field, v);
      setOwn(out, key, merged);
    }
  }
  return out;
}

/** The raw config with every provider's preset applied; anything not shaped like a config is returned as is. */
export function applyProviderPresets(raw: unknown): unknown {
  if (!isPlainObject(raw) || !isPlainObject(raw["providers"])) return raw;
  const providers: Record<string, unknown> = {};
  for (const [name, provider] of Object.entries(raw["providers"]))
    setOwn(providers, name, isPlainObject(provider) ? applyPreset(provider) : provider);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) setOwn(out, key, key === "providers" ? providers : value);
  return out;
}
