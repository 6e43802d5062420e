// Cross-field rules of where a provider's keys come from: `discovery: false` needs `jwksUri` or
// `staticKeys` (one of them, one kind of static key), static keys need `discovery: false`, and a
// provider without discovery has no endpoints for browser login, introspection or token exchange.
import type { PartialConfig, RuleFindings } from "./checkConfigRules.ts";
import { keyPath } from "./keyPath.ts";

type PartialProvider = NonNullable<PartialConfig["providers"]>[string];

export function checkKeySourceRules(config: PartialConfig, findings: RuleFindings): void {
  const withoutDiscovery = new Set<string>();
  for (const [name, provider] of Object.entries(config.providers ?? {})) {
    if (provider.discovery === false) withoutDiscovery.add(name);
    checkProvider(keyPath("providers", name), provider, findings);
  }
  (config.routes ?? []).forEach((route, index) => {
    const exchanger = route?.exchange?.enabled === true ? route.exchange.provider : undefined;
    if (typeof exchanger !== "string" || !withoutDiscovery.has(exchanger)) return;
    findings.problems.push({
      path: keyPath(keyPath(keyPath("routes", index), "exchange"), "provider"),
      message: `names providers.${exchanger}, which has discovery: false and so no token endpoint to exchange at: name a provider with discovery`,
    });
  });
}

function checkProvider(path: string, provider: PartialProvider, { problems }: RuleFindings): void {
  const at = (key: string) => keyPath(path, key);
  const staticKeys = provider.staticKeys ?? {};
  const kinds = (["jwks", "jwksFile", "pem"] as const).filter((kind) => staticKeys[kind] != null);
  if (kinds.length > 1)
    problems.push({ path: at("staticKeys"), message: `sets ${kinds.join(" and ")}: keep exactly one of them` });
  if (provider.discovery !== false) {
    if (kinds.length > 0)
      problems.push({
        path: at("staticKeys"),
        message: "replaces discovery's keys: set discovery: false (the issuer then needs no discovery document)",
      });
    return;
  }
  if (kinds.length === 0 && provider.jwksUri == null)
    problems.push({
      path: at("discovery"),
      message: "is false, so the keys must be given: set jwksUri (e.g. https://idp.internal/keys) or staticKeys",
    });
  if (kinds.length > 0 && provider.jwksUri != null)
    problems.push({ path: at("jwksUri"), message: "contradicts staticKeys: keep one source of keys" });
  if (provider.redirectUri != null)
    problems.push({
      path: at("redirectUri"),
      message:
        "needs discovery: browser login uses the discovery document's authorization and token endpoints; remove redirectUri (bearer tokens only) or set discovery: true",
    });
  if (provider.introspection?.enabled === true && provider.introspection.endpoint == null)
    problems.push({
      path: keyPath(at("introspection"), "endpoint"),
      message: "is required with discovery: false (there is no discovery document to read it from)",
    });
  if (typeof staticKeys.jwks === "string")
    checkInlineJwks(keyPath(at("staticKeys"), "jwks"), staticKeys.jwks, problems);
}

/** The inline set is in the config itself, so check-config can read it now rather than at start. */
function checkInlineJwks(path: string, text: string, problems: RuleFindings["problems"]): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    problems.push({ path, message: 'is not JSON: write the JWK Set as JSON text, e.g. {"keys":[{...}]}' });
    return;
  }
  const keys = typeof doc === "object" && doc !== null ? (doc as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys) || keys.length === 0) {
    problems.push({ path, message: 'must be a JWK Set with at least one key: {"keys":[{...}]}' });
    return;
  }
  const privateMember = keys.some(
    (key) => typeof key === "object" && key !== null && ["d", "p", "q", "k"].some((name) => Object.hasOwn(key, name)),
  );
  if (privateMember)
    problems.push({ path, message: "holds private or symmetric key material: give the public keys only" });
}
