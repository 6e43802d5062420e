// A machine admitted by its client certificate alone (routes[].mtls.clients), as service meshes admit
// workloads: the first configured client the request's certificate matches, or null (then the
// request goes on as one without a credential: a session, anonymous, or a 401).
import type { AccessRequest } from "./AccessRequest.ts";
import type { CertificateClient, RouteBinding } from "./compileRouteBinding.ts";
import { presentedClientCertificate } from "./presentedClientCertificate.ts";

/** The provider label (metrics, logs) of a certificate client: not a possible provider name. */
export const CERTIFICATE_PROVIDER = "(mtls)";

export function certificateClientOf(request: AccessRequest, binding: RouteBinding): CertificateClient | null {
  const presented = presentedClientCertificate(request, binding);
  if (!presented.ok) return null;
  for (const client of binding.clients) if (client.matches(presented.certificate)) return client;
  return null;
}
