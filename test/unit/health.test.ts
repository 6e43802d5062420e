// grpc.health.v1 as Envoy's health checker sees it, and /readyz's agreement with it.
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer } from "../../src/app/startServer.ts";
import { parseConfig } from "../../src/config/parseConfig.ts";
import { createLogger } from "../../src/observability/createLogger.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import { PROTO_ROOT } from "../../src/transport/loadProtos.ts";
import { startGrpcServer, type GrpcServer } from "../../src/transport/startGrpcServer.ts";
import { createManualClock } from "../harness/createManualClock.ts";
import { healthOnce } from "../harness/grpcTestClients.ts";

describe("grpc.health.v1", () => {
  const state = new HealthState();
  let server: GrpcServer;
  let client: grpc.Client & {
    Check(req: object, cb: (e: grpc.ServiceError | null, r: any) => void): void;
    Watch(req: object): grpc.ClientReadableStream<any>;
  };

  beforeAll(async () => {
    server = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      authorization: createExtAuthzHandlers(
        { decide: async () => ({ kind: "allow", route: "r", reason: "public", setHeaders: [], removeHeaders: [] }) },
        { checked() {} },
      ),
      health: createHealthHandlers(state),
    });
    const def = protoLoader.loadSync("grpc/health/v1/health.proto", {
      includeDirs: [PROTO_ROOT],
      enums: String,
      defaults: true,
    });
    const Health = (grpc.loadPackageDefinition(def) as any).grpc.health.v1.Health as grpc.ServiceClientConstructor;
    client = new Health(`127.0.0.1:${server.port}`, grpc.credentials.createInsecure()) as any;
  });
  afterAll(async () => {
    client.close();
    await server.shutdown(1000);
  });

  const checkStatus = (service: string) =>
    new Promise<any>((resolve, reject) => client.Check({ service }, (e, r) => (e ? reject(e) : resolve(r.status))));

  it("reports SERVING for the whole server and for the ext_authz service", async () => {
    expect(await checkStatus("")).toBe("SERVING");
    expect(await checkStatus("envoy.service.auth.v3.Authorization")).toBe("SERVING");
  });

  it("answers NOT_FOUND for a service it does not serve", async () => {
    await expect(checkStatus("other.Service")).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it("streams NOT_SERVING to watchers once draining starts, then ends their streams", async () => {
    const stream = client.Watch({ service: "" });
    const statuses: string[] = [];
    const failed = new Promise<never>((_, reject) => stream.on("error", reject));
    let gotFirst!: () => void;
    let gotTwo!: () => void;
    const first = new Promise<void>((resolve) => (gotFirst = resolve));
    const two = new Promise<void>((resolve) => (gotTwo = resolve));
    stream.on("data", (m: any) => {
      statuses.push(m.status);
      if (statuses.length === 1) gotFirst();
      if (statuses.length === 2) gotTwo();
    });
    const ended = new Promise<void>((resolve) => stream.on("end", () => resolve()));
    // The watch is registered once its first status (SERVING) has arrived: only then drain.
    await Promise.race([first, failed]);
    state.drain();
    await Promise.race([two, failed]);
    await Promise.race([ended, failed]);
    expect(statuses).toEqual(["SERVING", "NOT_SERVING"]);
    expect(await checkStatus("")).toBe("NOT_SERVING");
  });
});

describe("readiness and gRPC health together", () => {
  it("says not ready on /readyz until gRPC health says SERVING, so a caller told ready never meets NOT_SERVING", async () => {
    // No provider: the pipeline can decide at once, and only the readiness tick moves health.
    const parsed = parseConfig({
      listen: { grpc: "127.0.0.1:0", auth: "127.0.0.1:0", admin: "127.0.0.1:0" },
      shutdown: { drainSeconds: 0 },
      routes: [{ name: "public", match: { path: "/" }, auth: "public" }],
    });
    if (!parsed.ok) throw new Error(parsed.problems.map((p) => p.message).join("; "));
    const clock = createManualClock();
    const server = await startServer(parsed.config, { clock, logger: createLogger("error") });
    try {
      const readyz = async () => {
        const res = await fetch(`http://127.0.0.1:${server.ports.admin}/readyz`);
        return { status: res.status, body: await res.text() };
      };
      expect(await healthOnce(server.ports.grpc)).toBe("NOT_SERVING");
      expect(await readyz()).toEqual({ status: 503, body: expect.stringContaining("health not yet SERVING") });
      expect(server.readiness().notReady).toBe("starting: health not yet SERVING");
      clock.advance(100);
      expect(await healthOnce(server.ports.grpc)).toBe("SERVING");
      expect((await readyz()).status).toBe(200);
      expect(server.readiness().notReady).toBeNull();
    } finally {
      // The drain (0 s) and the grace period run on the test's clock too.
      const stopped = server.stop();
      await clock.whenPending();
      clock.advance(5000);
      await stopped;
    }
  });
});
