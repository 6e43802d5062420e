// grpc.health.v1 Check and Watch. The empty service name and the ext_authz service name report
// the process status; any other name is NOT_FOUND, as the health protocol prescribes.
// Types only from grpc-js: the node:http2 transport serves these handlers without loading it.
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { HealthState, ServingStatus } from "./HealthState.ts";

export const AUTHORIZATION_SERVICE = "envoy.service.auth.v3.Authorization";
const KNOWN = new Set(["", AUTHORIZATION_SERVICE]);
const WIRE: Record<ServingStatus, number> = { SERVING: 1, NOT_SERVING: 2 };
const SERVICE_UNKNOWN = 3;
/** gRPC's NOT_FOUND status code (the protocol's number, as grpc-js's status.NOT_FOUND). */
const NOT_FOUND = 5;

interface HealthCheckRequest {
  service?: string;
}

export function createHealthHandlers(state: HealthState): UntypedServiceImplementation {
  return {
    Check(call: ServerUnaryCall<HealthCheckRequest, unknown>, callback: sendUnaryData<unknown>) {
      const service = call.request.service ?? "";
      if (!KNOWN.has(service)) {
        callback({ code: NOT_FOUND, details: "unknown service" });
        return;
      }
      callback(null, { status: WIRE[state.status] });
    },
    Watch(call: ServerWritableStream<HealthCheckRequest, unknown>) {
      const service = call.request.service ?? "";
      if (!KNOWN.has(service)) {
        call.write({ status: SERVICE_UNKNOWN });
        return;
      }
      call.write({ status: WIRE[state.status] });
      if (state.drained) {
        call.end();
        return;
      }
      const unsubscribe = state.subscribe((s) => call.write({ status: WIRE[s] }));
      call.on("cancelled", unsubscribe);
      call.on("close", unsubscribe);
      // Watch streams never end by themselves; a server that shuts down would otherwise wait its
      // whole grace period for them. The end of the drain ends them (NOT_SERVING was sent at its start).
      const endOnDrain = state.onDrain(() => {
        unsubscribe();
        call.end();
      });
      call.on("cancelled", endOnDrain);
      call.on("close", endOnDrain);
    },
  };
}
