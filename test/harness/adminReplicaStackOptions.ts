// The replica stack of the session admin API tests: two replicas behind Envoy with browser login,
// Redis for shared state (the sessions themselves, or only revocations with cookie sessions), and
// the admin API on, its bearer token passed in as ${PORTCULLIS_ADMIN_TOKEN} as an operator would.
import type { ReplicaStackOptions } from "./startReplicaStack.ts";

export function adminReplicaStackOptions(
  redisUrl: string,
  store: "cookie" | "redis",
  adminToken: string,
): ReplicaStackOptions {
  return {
    replicas: 2,
    login: true,
    session: { store },
    config: {
      redis: { url: redisUrl, commandTimeoutMs: 2000 },
      shutdown: { graceSeconds: 2, drainSeconds: 0 },
      admin: { api: { enabled: true, token: "${PORTCULLIS_ADMIN_TOKEN}" } },
    },
    env: { PORTCULLIS_ADMIN_TOKEN: adminToken },
  };
}
