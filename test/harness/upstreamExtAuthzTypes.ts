// The complete upstream ext_authz v3 definitions (Envoy's own protos as shipped in
// @grpc/grpc-js-xds), loaded with protobufjs: the independent encoder the wire codec's differential
// test builds CheckRequests with, and decodes CheckResponses with.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);
const xdsRoot = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");
const INCLUDE = ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((d) => join(xdsRoot, d));

export interface UpstreamExtAuthzTypes {
  readonly checkRequest: protobuf.Type;
  readonly attributeContext: protobuf.Type;
  readonly request: protobuf.Type;
  readonly httpRequest: protobuf.Type;
  readonly headerValue: protobuf.Type;
  readonly checkResponse: protobuf.Type;
}

export function loadUpstreamExtAuthzTypes(): UpstreamExtAuthzTypes {
  // Envoy's validation annotations extend descriptor.proto, which protobufjs ships as JSON only.
  const descriptor = require("protobufjs/google/protobuf/descriptor.json") as {
    nested: { google: { nested: { protobuf: { nested: protobuf.INamespace["nested"] } } } };
  };
  protobuf.common("descriptor", descriptor.nested.google.nested.protobuf.nested!);
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    for (const dir of INCLUDE) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return target;
  };
  root.loadSync("envoy/service/auth/v3/external_auth.proto", { keepCase: true });
  root.resolveAll();
  return {
    checkRequest: root.lookupType("envoy.service.auth.v3.CheckRequest"),
    attributeContext: root.lookupType("envoy.service.auth.v3.AttributeContext"),
    request: root.lookupType("envoy.service.auth.v3.AttributeContext.Request"),
    httpRequest: root.lookupType("envoy.service.auth.v3.AttributeContext.HttpRequest"),
    headerValue: root.lookupType("envoy.config.core.v3.HeaderValue"),
    checkResponse: root.lookupType("envoy.service.auth.v3.CheckResponse"),
  };
}
