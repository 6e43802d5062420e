// Proves that proto/ is wire-compatible with the complete upstream Envoy definitions (shipped in
// @grpc/grpc-js-xds): a client built from the upstream files talks to our server, both ways.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import type { Decision } from "../../src/core/Decision.ts";
import { deny } from "../../src/core/deny.ts";
import { createExtAuthzHandlers } from "../../src/transport/createExtAuthzHandlers.ts";
import { createHealthHandlers } from "../../src/transport/createHealthHandlers.ts";
import { HealthState } from "../../src/transport/HealthState.ts";
import { startGrpcServer, type GrpcServer } from "../../src/transport/startGrpcServer.ts";

const require = createRequire(import.meta.url);
const xdsRoot = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");

function upstreamClient(port: number) {
  const def = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(xdsRoot, d)),
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    envoy: { service: { auth: { v3: { Authorization: grpc.ServiceClientConstructor } } } };
  };
  return new pkg.envoy.service.auth.v3.Authorization(
    `127.0.0.1:${port}`,
    grpc.credentials.createInsecure(),
  ) as unknown as grpc.Client & {
    Check(req: object, cb: (err: grpc.ServiceError | null, res: any) => void): void;
  };
}

function check(client: ReturnType<typeof upstreamClient>, req: object): Promise<any> {
  return new Promise((resolve, reject) => client.Check(req, (err, res) => (err ? reject(err) : resolve(res))));
}

describe("ext_authz wire compatibility with the upstream Envoy protos", () => {
  let server: GrpcServer;
  let client: ReturnType<typeof upstreamClient>;
  const seen: AccessRequest[] = [];
  let next: (r: AccessRequest) => Decision;

  beforeAll(async () => {
    const gate = { decide: async (r: AccessRequest) => (seen.push(r), next(r)) };
    server = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      authorization: createExtAuthzHandlers(gate, { checked() {} }),
      health: createHealthHandlers(new HealthState()),
    });
    client = upstreamClient(server.port);
  });
  afterAll(async () => {
    client.close();
    await server.shutdown(1000);
  });

  it("decodes the upstream CheckRequest's method, host, path and headers, and takes the request id from x-request-id", async () => {
    next = () => ({ kind: "allow", route: "r", reason: "public", setHeaders: [], removeHeaders: [] });
    await check(client, {
      attributes: {
        source: { address: { socket_address: { address: "10.0.0.1", port_value: 5555 } } },
        request: {
          http: {
            id: "14522190183262520317",
            method: "GET",
            host: "API.example.com:8443",
            path: "/api/x?q=1",
            scheme: "https",
            protocol: "HTTP/1.1",
            headers: { authorization: "Bearer abc", "x-request-id": "req-1" },
          },
        },
        context_extensions: { k: "v" },
      },
    });
    const r = seen.at(-1)!;
    expect(r).toMatchObject({
      requestId: "req-1",
      method: "GET",
      host: "api.example.com",
      path: "/api/x?q=1",
      scheme: "https",
    });
    expect(r.headers.get("authorization")).toBe("Bearer abc");
  });

  it("takes the request id from Envoy's stream id only when the request has no x-request-id", async () => {
    next = () => ({ kind: "allow", route: "r", reason: "public", setHeaders: [], removeHeaders: [] });
    await check(client, {
      attributes: { request: { http: { id: "14522190183262520317", method: "GET", host: "h", path: "/" } } },
    });
    expect(seen.at(-1)!.requestId).toBe("14522190183262520317");
  });

  it("reads headers from header_map when Envoy sends raw headers", async () => {
    next = () => ({ kind: "allow", route: "r", reason: "public", setHeaders: [], removeHeaders: [] });
    await check(client, {
      attributes: {
        request: {
          http: {
            method: "POST",
            host: "h",
            path: "/",
            header_map: {
              headers: [
                { key: "X-Two", raw_value: Buffer.from("a") },
                { key: "x-two", raw_value: Buffer.from("b") },
              ],
            },
          },
        },
      },
    });
    expect(seen.at(-1)!.headers.get("x-two")).toBe("a,b");
  });

  it("encodes an allow as OkHttpResponse with overwrite headers and headers_to_remove", async () => {
    next = () => ({
      kind: "allow",
      route: "r",
      reason: "authenticated",
      setHeaders: [["x-user-sub", "alice"]],
      removeHeaders: ["x-user-email"],
    });
    const res = await check(client, { attributes: { request: { http: { method: "GET", host: "h", path: "/" } } } });
    expect(res.status.code).toBe(0);
    expect(res.http_response).toBe("ok_response");
    expect(res.ok_response.headers).toEqual([
      expect.objectContaining({
        header: expect.objectContaining({ key: "x-user-sub", value: "alice" }),
        append_action: "OVERWRITE_IF_EXISTS_OR_ADD",
      }),
    ]);
    expect(res.ok_response.headers_to_remove).toEqual(["x-user-email"]);
  });

  it("encodes a denial as DeniedHttpResponse with status, WWW-Authenticate and a JSON body", async () => {
    next = () => deny("token_expired", { route: "r" });
    const res = await check(client, { attributes: { request: { http: { method: "GET", host: "h", path: "/" } } } });
    expect(res.status.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(res.http_response).toBe("denied_response");
    expect(res.denied_response.status.code).toBe("Unauthorized");
    const headers = Object.fromEntries(res.denied_response.headers.map((h: any) => [h.header.key, h.header.value]));
    expect(headers["www-authenticate"]).toBe(
      'Bearer realm="portcullis", error="invalid_token", error_description="the token has expired"',
    );
    expect(JSON.parse(res.denied_response.body)).toEqual({
      error: "token_expired",
      error_description: "the token has expired",
    });
  });

  it("answers a fault inside decide with an explicit 503 denial, not a gRPC error", async () => {
    next = () => {
      throw new Error("boom with Bearer secret-token");
    };
    const res = await check(client, { attributes: { request: { http: { method: "GET", host: "h", path: "/" } } } });
    expect(res.http_response).toBe("denied_response");
    expect(res.denied_response.status.code).toBe("ServiceUnavailable");
    expect(res.denied_response.body).not.toContain("secret-token");
  });
});
