// A machine the route admits without a token: by its client certificate (routes[].mtls.clients)
// first, else by an API key (routes[].apiKeys, ApiKeySet.ts). Null when neither applies, and the
// request goes on as one without a credential; an API key that matches nothing is a denial.
import type { AccessRequest } from "./AccessRequest.ts";
import type { ApiKeySet } from "./ApiKeySet.ts";
import type { Deny } from "./Decision.ts";
import type { CompiledRoute } from "./RouteTable.ts";
import { certificateSubject, type Subject } from "./Subject.ts";

export function machineSubject(
  request: AccessRequest,
  route: CompiledRoute,
  apiKeys: Pick<ApiKeySet, "subjectOf"> | null | undefined,
): Subject | Deny | null {
  return certificateSubject(request, route) ?? apiKeys?.subjectOf(request, route) ?? null;
}
