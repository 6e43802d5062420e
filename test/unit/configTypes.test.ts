// The parsed config's types are derived from the schema (src/config/SchemaOutput.ts): tsc checks
// the type assertions here as part of every test run, and the runtime ones show the parser outputs
// exactly the keys the types declare.
import { describe, expect, expectTypeOf, it } from "vitest";
import type { ObjectNode, SchemaNode } from "../../src/config/configSchema.ts";
import { configSchema } from "../../src/config/configSchema.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import type {
  ListenAddress,
  PortcullisConfig,
  ProviderConfig,
  RouteAuth,
  RouteConfig,
  SessionConfig,
} from "../../src/config/PortcullisConfig.ts";
import { providerNode } from "../../src/config/providerSchema.ts";
import { routeNode } from "../../src/config/routeSchema.ts";

const raw = {
  providers: { corp: { issuer: "https://idp.example.com", audiences: ["api"] } },
  routes: [{ name: "api", match: { path: "/api" }, auth: "required" }],
};

/** The keys an object node's output has: its fields, renamed where `outputKey` says. */
function outputKeys(node: ObjectNode): string[] {
  return Object.entries(node.fields)
    .map(([key, child]: [string, SchemaNode]) => child.outputKey ?? key)
    .sort();
}

describe("config types derived from the schema", () => {
  it("gives the parsed config exactly the schema's top-level keys", () => {
    expectTypeOf<keyof PortcullisConfig>().toEqualTypeOf<keyof typeof configSchema.fields>();
    const result = parseConfig(raw);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(Object.keys(result.config).sort()).toEqual(outputKeys(configSchema));
  });

  it("types a route with the schema's keys, `host` written as `hosts`, and every key present once parsed", () => {
    expectTypeOf<keyof RouteConfig>().toEqualTypeOf<keyof typeof routeNode.fields>();
    expectTypeOf<RouteConfig["match"]["hosts"]>().toEqualTypeOf<readonly string[]>();
    expectTypeOf<RouteConfig["auth"]>().toEqualTypeOf<RouteAuth | null>();
    expectTypeOf<RouteAuth>().toEqualTypeOf<"required" | "optional" | "public">();
    const result = parseConfig(raw);
    if (!result.ok) throw new Error("the sample config is valid");
    const route = result.config.routes[0] as RouteConfig;
    expect(Object.keys(route).sort()).toEqual(outputKeys(routeNode));
    expect(Object.keys(route.match).sort()).toEqual(outputKeys(routeNode.fields.match));
  });

  it("types a provider with the schema's keys plus its name, copied from its key under providers", () => {
    expectTypeOf<Exclude<keyof ProviderConfig, "name">>().toEqualTypeOf<keyof typeof providerNode.fields>();
    expectTypeOf<ProviderConfig["name"]>().toEqualTypeOf<string>();
    const result = parseConfig(raw);
    if (!result.ok) throw new Error("the sample config is valid");
    const provider = result.config.providers["corp"] as ProviderConfig;
    expect(provider.name).toBe("corp");
    expect(Object.keys(provider).sort()).toEqual([...outputKeys(providerNode), "name"].sort());
  });

  it("types a value by what its format or parser makes of it", () => {
    expectTypeOf<PortcullisConfig["listen"]["grpc"]>().toEqualTypeOf<ListenAddress>();
    expectTypeOf<ListenAddress>().toEqualTypeOf<{ readonly host: string; readonly port: number }>();
    expectTypeOf<PortcullisConfig["tracing"]["sampleRatio"]>().toEqualTypeOf<number>();
    expectTypeOf<NonNullable<RouteConfig["require"]>["maxAge"]>().toEqualTypeOf<number | null>();
    // null in the schema, always a name once parsed: the default depends on cookieDomain.
    expectTypeOf<SessionConfig["cookieName"]>().toEqualTypeOf<string>();
  });
});
