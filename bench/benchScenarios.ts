// The routes the benchmark measures through Envoy: each scenario's key, its label in logs and
// problems, the Envoy listener that serves it, and what its sanity probe expects without a credential.
import type { Scenario } from "./measureRound.ts";
import { LISTENER_NAMES } from "./renderEnvoyConfig.ts";

/** deniedStatus: what the route answers without a credential (401 unless said). */
export const SCENARIOS: readonly {
  key: Scenario;
  label: string;
  listener: string;
  enforcesAuth: boolean;
  deniedStatus?: number;
}[] = [
  { key: "noAuth", label: "no auth", listener: LISTENER_NAMES.noAuth, enforcesAuth: false },
  { key: "jwtAuthn", label: "jwt_authn", listener: LISTENER_NAMES.jwtAuthn, enforcesAuth: true },
  // The no-op Check servers say OK to everything, with or without a token: probed for 200 only.
  {
    key: "noopGoExtAuthz",
    label: "ext_authz no-op grpc-go",
    listener: LISTENER_NAMES.noopGoExtAuthz,
    enforcesAuth: false,
  },
  { key: "noopExtAuthz", label: "ext_authz no-op", listener: LISTENER_NAMES.noopExtAuthz, enforcesAuth: false },
  { key: "portcullis", label: "ext_authz Portcullis", listener: LISTENER_NAMES.extAuthz, enforcesAuth: true },
  // A second Portcullis process, the same config with listen.tls (client certificate required).
  {
    key: "portcullisMtls",
    label: "ext_authz Portcullis over mTLS",
    listener: LISTENER_NAMES.extAuthzMtls,
    enforcesAuth: true,
  },
  // The same listener and Portcullis process; only the credential differs.
  {
    key: "portcullisSession",
    label: "ext_authz Portcullis (session)",
    listener: LISTENER_NAMES.extAuthz,
    enforcesAuth: true,
  },
  // oauth2-proxy refuses a request without a credential with 403 (its sign-in page, no redirect).
  {
    key: "oauth2Proxy",
    label: "ext_authz oauth2-proxy",
    listener: LISTENER_NAMES.oauth2Proxy,
    enforcesAuth: true,
    deniedStatus: 403,
  },
];
export const LABELS = Object.fromEntries(SCENARIOS.map((s) => [s.key, s.label])) as Record<Scenario, string>;
