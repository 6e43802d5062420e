// Decision → Envoy CheckResponse object for proto-loader: the reference encodeCheckResponse (what the
// server sends) is held to byte for byte by a differential test. Allow: OkHttpResponse that
// overwrites identity headers, removes every other owned header, and adds response headers for the
// client (a refreshed session's Set-Cookie), strips a query token source's parameter, and carries
// the dynamic metadata when the gate made some. Deny: DeniedHttpResponse carrying our status,
// headers, body, and the denial's dynamic metadata when the gate made some.
import type { Decision, DynamicMetadata, HeaderList } from "../core/Decision.ts";

const GRPC_OK = 0;
const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAVAILABLE = 14;
const GRPC_UNAUTHENTICATED = 16;
const APPEND_IF_EXISTS_OR_ADD = 0;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

function headerOptions(headers: HeaderList, addSetCookies: boolean) {
  return headers.map(([key, value]) =>
    // Several Set-Cookie headers (a chunked session) must all reach the client, so on an allowed
    // request they are added side by side. Envoy drops added headers from a denied response and
    // keeps only overwrites there, so the gate puts at most one Set-Cookie on a denial.
    addSetCookies && key === "set-cookie"
      ? { header: { key, value }, append_action: APPEND_IF_EXISTS_OR_ADD }
      : { header: { key, value }, append_action: OVERWRITE_IF_EXISTS_OR_ADD },
  );
}

/** google.protobuf.Struct as proto-loader takes it (protobufjs's bundled struct.proto names its fields in camelCase). */
function structOf(metadata: DynamicMetadata): object {
  const fields: Record<string, unknown> = {};
  for (const [name, value] of metadata.fields) fields[name] = { stringValue: value };
  return { fields: { [metadata.namespace]: { structValue: { fields } } } };
}

export function toCheckResponse(decision: Decision): object {
  if (decision.kind === "allow") {
    const ok: Record<string, unknown> = {
      headers: headerOptions(decision.setHeaders, false),
      headers_to_remove: decision.removeHeaders,
    };
    if (decision.responseHeaders !== undefined && decision.responseHeaders.length > 0) {
      ok["response_headers_to_add"] = headerOptions(decision.responseHeaders, true);
    }
    if (decision.removeQueryParameters !== undefined && decision.removeQueryParameters.length > 0) {
      ok["query_parameters_to_remove"] = decision.removeQueryParameters;
    }
    const response: Record<string, unknown> = { status: { code: GRPC_OK }, ok_response: ok };
    if (decision.metadata !== undefined && decision.metadata.fields.length > 0)
      response["dynamic_metadata"] = structOf(decision.metadata);
    return response;
  }
  const grpcCode =
    decision.status === 401
      ? GRPC_UNAUTHENTICATED
      : decision.status === 503
        ? GRPC_UNAVAILABLE
        : GRPC_PERMISSION_DENIED;
  const denied: Record<string, unknown> = {
    status: { code: grpcCode },
    denied_response: {
      status: { code: decision.status },
      headers: headerOptions(decision.headers, false),
      body: decision.body,
    },
  };
  // Envoy takes dynamic_metadata from a denial too (its access log sees it on the 401 or 403).
  if (decision.metadata !== undefined && decision.metadata.fields.length > 0)
    denied["dynamic_metadata"] = structOf(decision.metadata);
  return denied;
}
