// The checks that matter through real Envoy on each gRPC transport `listen.grpcTransport` offers:
// the node:net server with its own HTTP/2 framing (the default), the node:http2 server, and grpc-js. A valid token is let through with its identity
// (a forged identity header overwritten), a missing or forged one refused with 401, a public route
// answered, the TLS server name read for an sni condition, and Envoy's own gRPC health checks keep
// the cluster in rotation.
import { randomUUID } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpsRequest } from "../harness/httpsRequest.ts";
import { startStack, type Stack } from "../harness/startStack.ts";
import { servedByTransport } from "../harness/servedByTransport.ts";

describe.each(["http2", "net", "grpc-js"] as const)(
  "checks through Envoy with listen.grpcTransport %s",
  (transport) => {
    let stack: Stack;
    // Envoy's own record of every health-check event: on a failure it says which kind (a time-out,
    // a refused connection, or an answer other than SERVING).
    const healthEvents = join(tmpdir(), `portcullis-health-events-${randomUUID()}.log`);
    beforeAll(async () => {
      stack = await startStack({
        config: {
          listen: { grpc: "127.0.0.1:0", grpcTransport: transport, auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
        },
        routes: [
          { name: "api", match: { host: "localhost", path: "/api" }, auth: "required" },
          { name: "public", match: { host: "localhost", path: "/public" }, auth: "public" },
          {
            name: "partner",
            match: { host: "localhost", path: "/partner", sni: ["partner.localhost"] },
            auth: "public",
          },
        ],
        // The TLS server name reaches the Check only with include_tls_session.
        envoyConfig: (rendered) =>
          rendered
            .replace(
              /^(\s*)include_peer_certificate: false$/m,
              "$1include_peer_certificate: false\n$1include_tls_session: true",
            )
            .replace(
              /^(\s*)grpc_health_check: \{\}$/m,
              [
                "$1grpc_health_check: {}",
                "$1always_log_health_check_failures: true",
                "$1event_logger:",
                "$1  - name: envoy.health_check.event_sinks.file",
                "$1    typed_config:",
                '$1      "@type": type.googleapis.com/envoy.extensions.health_check.event_sinks.file.v3.HealthCheckEventFileSink',
                `$1      event_log_path: ${healthEvents}`,
              ].join("\n"),
            ),
      });
    });
    afterAll(async () => {
      await stack?.close();
      await rm(healthEvents, { force: true });
    });

    const send = async (path: string, headers: Record<string, string> = {}) => {
      const marker = randomUUID();
      const response = await stack.request(path, { headers: { "x-test-marker": marker, ...headers } });
      return { ...response, upstream: stack.upstream.requests().find((r) => r.headers["x-test-marker"] === marker) };
    };

    it(`is served by ${transport}`, async () => {
      expect(await servedByTransport(stack.portcullisGrpcPort)).toBe(transport);
    });

    it("lets a valid token through with its identity, overwriting a forged identity header", async () => {
      const token = await stack.signToken({ sub: `alice-${transport}` });
      const res = await send("/api/things", { authorization: `Bearer ${token}`, "x-user-sub": "attacker" });
      expect(res.status).toBe(200);
      expect(res.upstream?.headers["x-user-sub"]).toBe(`alice-${transport}`);
    });

    it("refuses a missing or forged token with 401, and answers a public route", async () => {
      expect((await send("/api/things")).status).toBe(401);
      const forged = `${(await stack.signToken()).slice(0, -4)}AAAA`;
      const refused = await send("/api/things", { authorization: `Bearer ${forged}` });
      expect(refused.status).toBe(401);
      expect(refused.upstream).toBeUndefined();
      expect((await send("/public/page")).status).toBe(200);
    });

    it("reads the TLS server name Envoy sends (tls_session.sni) for an sni condition", async () => {
      const get = (servername: string) =>
        httpsRequest({ port: stack.envoyPort, path: "/partner/x", ca: stack.ca, servername });
      expect((await get("partner.localhost")).status).toBe(200);
      expect((await get("localhost")).json).toMatchObject({ error: "route_not_found" });
    });

    it("passes Envoy's gRPC health checks and keeps its host in rotation", async () => {
      const url = `${stack.envoyAdminUrl}/stats?filter=^cluster\\.portcullis_ext_authz\\.health_check\\.`;
      const count = (text: string, name: string) =>
        Number(new RegExp(`health_check\\.${name}: (\\d+)`).exec(text)?.[1] ?? NaN);
      // Envoy checks every 5 s (1 s timeout): wait, with a wide margin for a busy machine, for its first
      // answered check.
      let text = "";
      for (const until = Date.now() + 45_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
        text = await (await fetch(url)).text();
        if (count(text, "success") > 0) break;
      }
      const events = await readFile(healthEvents, "utf8").catch(() => "(no health-check events recorded)");
      const record = `${text}\n--- Envoy health-check events ---\n${events}`;
      expect(count(text, "success"), record).toBeGreaterThan(0);
      // A check that only ran out of time on a busy machine is Envoy's 1 s budget, not the protocol;
      // any other failure (an answer other than SERVING, an error status, a refused connection) is.
      const failures = events
        .split("\n")
        .filter((line) => line.includes("failure_type"))
        .filter((line) => !line.includes('"failure_type":"NETWORK_TIMEOUT"'));
      expect(failures, record).toEqual([]);
      const clusters = await (await fetch(`${stack.envoyAdminUrl}/clusters`)).text();
      const flags = clusters.split("\n").filter((line) => /^portcullis_ext_authz::.*::health_flags::/.test(line));
      expect(flags, clusters).toEqual([expect.stringMatching(/::health_flags::healthy$/)]);
    }, 60_000);
  },
);
