// deploy/compose.yaml, read without Docker: the services a laptop stack needs, a Portcullis config
// that loads with the environment compose gives it, and the pieces agreeing with each other —
// Envoy's listener and the redirect URI, Envoy's clusters and Portcullis's listeners, the issuer
// and Keycloak's hostname, alias, port and imported realm (client, secret, redirect URI, audience).
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadCheckedConfig } from "../../src/app/loadCheckedConfig.ts";
import type { PortcullisConfig } from "../../src/config/PortcullisConfig.ts";
import { execForm, last, parseDockerfile } from "./deployDockerfile.ts";
import type { Stage } from "./deployDockerfile.ts";

type Json = Record<string, any>;
const url = (path: string) => new URL(`../../${path}`, import.meta.url);
const read = (path: string) => readFileSync(url(path), "utf8");

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  networks?: Record<string, { aliases?: string[] }>;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  profiles?: string[];
}

const compose = parse(read("deploy/compose.yaml")) as {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
};
const service = (name: string): Service => {
  const found = compose.services[name];
  if (found === undefined) throw new Error(`no service ${name}`);
  return found;
};

/** Compose's own interpolation of `${VAR:-default}`, `${VAR-default}`, `${VAR}` and `$$`. */
function interpolate(value: string, env: Readonly<Record<string, string>>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}/g,
    (whole, name: string | undefined, op: string | undefined, fallback: string | undefined) => {
      if (whole === "$$") return "$";
      const set = env[name as string];
      if (op === ":-") return set === undefined || set === "" ? (fallback ?? "") : set;
      if (op === "-") return set ?? fallback ?? "";
      return set ?? "";
    },
  );
}

/** `./docker/x.yaml:/etc/y.yaml:ro` → the host file (relative to deploy/) mounted at `target`. */
function mountOf(svc: Service, target: string): string | undefined {
  return svc.volumes?.find((v) => v.split(":")[1] === target)?.split(":")[0];
}

const published = (svc: Service) =>
  (svc.ports ?? []).map((p) => {
    const [host, hostPort, containerPort] = p.split(":");
    return { host, hostPort: Number(hostPort), containerPort: Number(containerPort) };
  });

const dockerfile = parseDockerfile(read("deploy/Dockerfile"));
const runtime = dockerfile.at(-1) as Stage;
const cmd = execForm(last(runtime, "CMD")?.args ?? "[]") ?? [];
const configTarget = cmd[cmd.indexOf("--config") + 1] as string;

const portcullisEnv = Object.fromEntries(
  Object.entries(service("portcullis").environment ?? {}).map(([k, v]) => [k, interpolate(String(v), {})]),
);
const configMount = mountOf(service("portcullis"), configTarget);
const loaded = loadCheckedConfig(new URL(`../../deploy/${configMount}`, import.meta.url).pathname, portcullisEnv);
const config = (loaded.ok ? loaded.config : undefined) as PortcullisConfig;
const envoy = parse(read("deploy/docker/envoy.yaml")) as Json;
const realmMount = service("keycloak")
  .volumes?.find((v) => v.split(":")[1]?.startsWith("/opt/keycloak/data/import/"))
  ?.split(":")[0];
const realm = JSON.parse(read(`deploy/${realmMount}`)) as Json;

describe("deploy/compose.yaml", () => {
  it("runs Envoy (the pinned version), Portcullis built from deploy/Dockerfile, Keycloak, Redis and a sample app", () => {
    const envoyVersion = /ENVOY_VERSION="([\d.]+)"/.exec(read("bin/provision.sh"))?.[1];
    expect(service("envoy").image).toBe(`envoyproxy/envoy:v${envoyVersion}`);
    expect(service("portcullis").build).toEqual({ context: "..", dockerfile: "deploy/Dockerfile" });
    expect(service("keycloak").image).toMatch(/^quay\.io\/keycloak\/keycloak:\d+\.\d+\.\d+$/);
    expect(service("keycloak").command).toEqual(expect.arrayContaining(["start-dev", "--import-realm"]));
    expect(service("redis").image).toMatch(/^redis:\d/);
    expect(service("app").image).toMatch(/:v?\d/);
    // Prometheus and Grafana only with --profile observability; the core stack has no profile.
    for (const name of ["envoy", "portcullis", "keycloak", "redis", "app"])
      expect(service(name).profiles).toBeUndefined();
    for (const name of ["prometheus", "grafana"]) expect(service(name).profiles).toEqual(["observability"]);
  });

  it("mounts a Portcullis config at the image's --config path that loads with the environment compose sets", () => {
    expect(configTarget).toBe("/etc/portcullis/config.yaml");
    expect(configMount).toBe("./docker/portcullis.yaml");
    expect(loaded.ok ? [] : loaded.problems).toEqual([]);
    // Only the warnings a laptop stack accepts on purpose.
    expect(loaded.warnings.map((w) => w.path).sort()).toEqual(["listen.admin", "providers.keycloak.allowInsecureHttp"]);
    expect(config.session.keys[0]?.length).toBeGreaterThanOrEqual(32);
  });

  it("publishes ports on the host's loopback only, and none for the sample app (Envoy is the only way in)", () => {
    for (const [name, svc] of Object.entries(compose.services)) {
      for (const port of published(svc))
        expect(port.host, `${name} publishes ${port.hostPort} beyond loopback`).toBe("127.0.0.1");
    }
    expect(service("app").ports).toBeUndefined();
    expect(published(service("envoy"))).toEqual([{ host: "127.0.0.1", hostPort: 8443, containerPort: 8443 }]);
    expect(published(service("portcullis"))).toEqual([
      { host: "127.0.0.1", hostPort: 9464, containerPort: config.listen.admin.port },
    ]);
  });

  it("runs Portcullis read-only with /tmp as its only writable place, no capabilities and no privilege gain", () => {
    const portcullis = service("portcullis");
    expect(portcullis.read_only).toBe(true);
    expect(portcullis.tmpfs).toEqual(["/tmp"]);
    expect(portcullis.cap_drop).toEqual(["ALL"]);
    expect(portcullis.security_opt).toContain("no-new-privileges:true");
  });

  it("sends browsers back to the origin Envoy listens on, and Envoy's clusters reach Portcullis's listeners and the app", () => {
    const listener = envoy["static_resources"].listeners[0];
    const envoyPort = listener.address.socket_address.port_value as number;
    expect(published(service("envoy"))[0]?.containerPort).toBe(envoyPort);
    const redirect = new URL(config.providers["keycloak"]?.redirectUri as string);
    expect(redirect.origin).toBe(`https://localhost:${published(service("envoy"))[0]?.hostPort}`);
    expect(redirect.pathname).toBe("/oauth2/callback");
    const clusters = new Map(
      (envoy["static_resources"].clusters as Json[]).map((c) => [
        c["name"],
        c["load_assignment"].endpoints[0].lb_endpoints[0].endpoint.address.socket_address,
      ]),
    );
    expect(clusters.get("portcullis_ext_authz")).toEqual({
      address: "portcullis",
      port_value: config.listen.grpc.port,
    });
    expect(clusters.get("portcullis_auth")).toEqual({ address: "portcullis", port_value: config.listen.auth.port });
    const appPort = Number(service("app").command?.[service("app").command!.indexOf("--port") + 1]);
    expect(clusters.get("app")).toEqual({ address: "app", port_value: appPort });
    const hcm = listener.filter_chains[0].filters[0].typed_config;
    expect(hcm.http_filters[0].typed_config.failure_mode_allow).toBe(false);
    expect(hcm.route_config.virtual_hosts[0].domains).toContain(redirect.host);
  });

  it("gives Envoy the certificate the tls service makes, through the shared volume", () => {
    const tlsContext =
      envoy["static_resources"].listeners[0].filter_chains[0].transport_socket.typed_config.common_tls_context
        .tls_certificates[0];
    const mountDir = service("envoy")
      .volumes?.find((v) => v.startsWith("tls:"))
      ?.split(":")[1];
    expect(mountDir).toBe("/etc/envoy/tls");
    const made = service("tls").command?.join(" ") ?? "";
    for (const file of [tlsContext.certificate_chain.filename, tlsContext.private_key.filename] as string[]) {
      expect(file.startsWith(`${mountDir}/`)).toBe(true);
      expect(made).toContain(`/tls/${file.slice(mountDir!.length + 1)}`);
    }
    expect(service("envoy").depends_on).toMatchObject({
      tls: { condition: "service_completed_successfully" },
      portcullis: { condition: "service_healthy" },
    });
  });

  it("serves the issuer at one URL for browsers and containers: Keycloak's hostname, network alias and published port", () => {
    const issuer = new URL(config.providers["keycloak"]?.issuer as string);
    const keycloak = service("keycloak");
    expect(keycloak.environment?.["KC_HOSTNAME"]).toBe(issuer.origin);
    expect(issuer.hostname.endsWith(".localhost")).toBe(true);
    expect(keycloak.networks?.["default"]?.aliases).toContain(issuer.hostname);
    expect(published(keycloak)).toEqual([
      { host: "127.0.0.1", hostPort: Number(issuer.port), containerPort: Number(issuer.port) },
    ]);
    expect(keycloak.command).toContain(`--http-port=${issuer.port}`);
    expect(issuer.pathname).toBe(`/realms/${realm["realm"]}`);
  });

  it("imports a realm whose client matches Portcullis's: id, secret, redirect URI, post-logout origin and audience", () => {
    const provider = config.providers["keycloak"];
    const client = (realm["clients"] as Json[]).find((c) => c["clientId"] === provider?.clientId) as Json;
    expect(client).toBeDefined();
    expect(client["publicClient"]).toBe(false);
    expect(client["secret"]).toBe(portcullisEnv["PORTCULLIS_CLIENT_SECRET"]);
    expect(client["standardFlowEnabled"]).toBe(true);
    expect(client["redirectUris"]).toEqual([provider?.redirectUri]);
    expect(client["attributes"]["pkce.code.challenge.method"]).toBe("S256");
    expect(client["attributes"]["post.logout.redirect.uris"]).toBe(
      `${new URL(provider?.redirectUri as string).origin}/*`,
    );
    for (const c of realm["clients"] as Json[]) {
      const audiences = (c["protocolMappers"] as Json[])
        .filter((m) => m["protocolMapper"] === "oidc-audience-mapper")
        .map((m) => m["config"]["included.custom.audience"]);
      expect(audiences, c["clientId"]).toEqual([...(provider?.audiences ?? [])]);
    }
  });

  it("has people for the demo routes: alice with the admin role the /admin route requires, bob without it", () => {
    const users = new Map((realm["users"] as Json[]).map((u) => [u["username"], u]));
    const adminRoute = config.routes.find((r) => r.name === "admin");
    expect(JSON.stringify(adminRoute)).toContain('"admin"');
    expect(users.get("alice")?.["realmRoles"]).toContain("admin");
    expect(users.get("bob")?.["realmRoles"]).not.toContain("admin");
    for (const user of users.values()) {
      // Keycloak's user profile asks for these at first login when they are missing.
      for (const field of ["email", "firstName", "lastName"]) expect(user[field]).toBeTruthy();
      expect(user["credentials"][0]).toMatchObject({ type: "password", temporary: false });
    }
  });
});
