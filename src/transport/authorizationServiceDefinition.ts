// The ext_authz v3 Authorization service as grpc-js serves it, with the wire codec in place of
// proto-loader's reflection: a request arrives decoded (decodeCheckRequest) and a response leaves
// as the bytes the handler encoded (encodeCheckResponse). Server side only.
import type { ServiceDefinition } from "@grpc/grpc-js";
import { decodeCheckRequest } from "./decodeCheckRequest.ts";

function serverOnly(): never {
  throw new Error("the Authorization service definition has no client side");
}

export const AUTHORIZATION_SERVICE_DEFINITION: ServiceDefinition = {
  Check: {
    path: "/envoy.service.auth.v3.Authorization/Check",
    requestStream: false,
    responseStream: false,
    requestDeserialize: decodeCheckRequest,
    responseSerialize: (bytes: Buffer) => bytes,
    requestSerialize: serverOnly,
    responseDeserialize: serverOnly,
  },
};
