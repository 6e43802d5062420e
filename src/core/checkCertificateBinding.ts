// RFC 8705 §3: a certificate-bound token (`cnf["x5t#S256"]`) is accepted only from the client whose
// certificate has that SHA-256 thumbprint. The compare is constant-time over the decoded digests, so
// a guess at another client's thumbprint learns nothing from the timing of a refusal.
import { timingSafeEqual } from "node:crypto";
import type { Deny } from "./Decision.ts";
import { deny } from "./deny.ts";
import type { PresentedCertificate } from "./presentedClientCertificate.ts";
import { BOUND_WITHOUT_PROOF } from "./refuseUnprovenBinding.ts";

const SHA256_BASE64URL = /^[A-Za-z0-9_-]{43}$/;

export function checkCertificateBinding(
  confirmation: unknown,
  presented: PresentedCertificate,
  context: { readonly route: string; readonly provider: string },
): Deny | null {
  if (typeof confirmation !== "string" || !SHA256_BASE64URL.test(confirmation))
    return deny("type_not_allowed", {
      ...context,
      detail: `${BOUND_WITHOUT_PROOF} (cnf x5t#S256): not a base64url SHA-256`,
    });
  if (!presented.ok)
    return deny("type_not_allowed", {
      ...context,
      detail: `${BOUND_WITHOUT_PROOF} (cnf x5t#S256): ${presented.problem}`,
    });
  const expected = Buffer.from(confirmation, "base64url");
  const actual = Buffer.from(presented.certificate.thumbprint, "base64url");
  if (expected.length === actual.length && timingSafeEqual(expected, actual)) return null;
  return deny("token_binding_mismatch", {
    ...context,
    detail: "cnf x5t#S256 is not the thumbprint of the client certificate",
  });
}
