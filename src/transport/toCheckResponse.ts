// Decision → Envoy CheckResponse. Allow: OkHttpResponse that overwrites identity headers and
// removes every other owned header. Deny: DeniedHttpResponse carrying our status, headers, body.
import type { Decision } from "../core/Decision.ts";

const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAVAILABLE = 14;
const GRPC_UNAUTHENTICATED = 16;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

function headerOptions(headers: ReadonlyArray<readonly [string, string]>) {
  return headers.map(([key, value]) => ({ header: { key, value }, append_action: OVERWRITE_IF_EXISTS_OR_ADD }));
}

export function toCheckResponse(decision: Decision): object {
  if (decision.kind === "allow") {
    return {
      status: { code: GRPC_OK },
      ok_response: {
        headers: headerOptions(decision.setHeaders),
        headers_to_remove: decision.removeHeaders,
      },
    };
  }
  const grpcCode =
    decision.status === 401 ? GRPC_UNAUTHENTICATED : decision.status === 503 ? GRPC_UNAVAILABLE : GRPC_PERMISSION_DENIED;
  return {
    status: { code: grpcCode },
    denied_response: {
      status: { code: decision.status },
      headers: headerOptions(decision.headers),
      body: decision.body,
    },
  };
}
