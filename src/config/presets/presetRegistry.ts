// Every hosted-IdP preset by name, in the order the docs and messages list them.
import { auth0Preset } from "./auth0Preset.ts";
import { cognitoPreset } from "./cognitoPreset.ts";
import { entraPreset } from "./entraPreset.ts";
import { googlePreset } from "./googlePreset.ts";
import type { IdpPreset } from "./IdpPreset.ts";
import { keycloakPreset } from "./keycloakPreset.ts";
import { oktaPreset } from "./oktaPreset.ts";

export const PRESET_NAMES = ["keycloak", "auth0", "okta", "cognito", "entra", "google"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

const PRESETS: Readonly<Record<PresetName, IdpPreset>> = {
  keycloak: keycloakPreset,
  auth0: auth0Preset,
  okta: oktaPreset,
  cognito: cognitoPreset,
  entra: entraPreset,
  google: googlePreset,
};

export function isPresetName(value: unknown): value is PresetName {
  return typeof value === "string" && (PRESET_NAMES as readonly string[]).includes(value);
}

export function presetNamed(name: PresetName): IdpPreset {
  return PRESETS[name];
}
