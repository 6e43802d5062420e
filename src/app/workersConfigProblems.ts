// What in a config keeps `serve --workers` above 1 from being safe, as config problems with their key
// path: state one process must hold alone. Browser login without Redis keeps back-channel logouts,
// sign-outs and their replay guard in the process that received them, so the other workers would
// still accept a session (or a logged-out sid's bearer token) that was ended; grpc-js cannot share
// its port (no SO_REUSEPORT); a generated assertion key without Redis would be one key per worker;
// DPoP without Redis would let each worker accept a proof once (a replay store per process) and
// refuse the others' nonces; a forward-auth listener on port 0 would be a different port in each
// worker.
import type { ConfigIssue } from "../config/ConfigIssue.ts";
import { keyPath } from "../config/keyPath.ts";
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { assertionRouteAudiences } from "../identity/assertionRouteAudiences.ts";
import { browserLoginEnabled } from "./buildCheckPipeline.ts";
import { ownForwardAuthListener } from "./reloadProblems.ts";

export function workersConfigProblems(config: PortcullisConfig, workers: number): ConfigIssue[] {
  const problems: ConfigIssue[] = [];
  const hasRedis = config.redis.url !== null || config.redis.sentinels.length > 0;
  if (browserLoginEnabled(config) && !hasRedis) {
    problems.push({
      path: "redis.url",
      message: `--workers ${workers} needs Redis with browser login (session.store "${config.session.store}"): without it each worker keeps its own back-channel logouts, sign-outs and logout-token replay guard, so the other workers would still accept a session that was ended (and the bearer tokens of a logged-out IdP session). Set redis.url (and session.store: redis to share sessions and refreshes too), or run --workers 1`,
    });
  }
  if (!hasRedis && (config.identity.assertion?.keys.length ?? 1) === 0 && assertionRouteAudiences(config).size > 0) {
    problems.push({
      path: "identity.assertion.keys",
      message: `--workers ${workers} needs configured keys or Redis for the signed assertion: each worker would generate its own key and publish only its own, so an upstream would refuse the assertions of every other worker. Set identity.assertion.keys (or redis.url to share a generated key), or run --workers 1`,
    });
  }
  const dpop = Object.values(config.providers).find((p) => p.dpop?.enabled === true);
  if (!hasRedis && dpop !== undefined) {
    problems.push({
      path: keyPath(keyPath(keyPath("providers", dpop.name), "dpop"), "enabled"),
      message: `--workers ${workers} needs Redis with DPoP: each worker would remember only the proofs it saw, so a proof replayed to another worker would be accepted again (and a generated nonce key is one per worker). Set redis.url, or run --workers 1`,
    });
  }
  const unkeyed = Object.values(config.providers).find(
    (p) => p.dpop?.enabled === true && p.dpop.nonce.required && p.dpop.nonce.secret === null,
  );
  if (unkeyed !== undefined) {
    problems.push({
      path: keyPath(keyPath(keyPath(keyPath("providers", unkeyed.name), "dpop"), "nonce"), "secret"),
      message: `--workers ${workers} needs a configured DPoP nonce secret: each worker would generate its own key and refuse the nonces the others give out, so clients would be asked for a new nonce again and again. Set the same secret (\${ENV_VAR}, 32+ characters), or run --workers 1`,
    });
  }
  if (config.listen.grpcTransport === "grpc-js") {
    problems.push({
      path: "listen.grpcTransport",
      message: `--workers ${workers} needs the http2 transport: grpc-js cannot listen with SO_REUSEPORT, so workers cannot share listen.grpc's port. Set listen.grpcTransport: http2, or run --workers 1`,
    });
  }
  if (ownForwardAuthListener(config)?.port === 0) {
    problems.push({
      path: "forwardAuth.listen",
      message: `--workers ${workers} needs a fixed port for the forward-auth listener: with port 0 each worker would listen on a port of its own, which no proxy could be pointed at. Give a port, or run --workers 1`,
    });
  }
  return problems;
}
