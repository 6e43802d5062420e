// The `session` and `redis` parts of the config schema: browser sessions (where they live, cookie
// sealing, lifetimes, redirects) and the Redis every replica shares. configSchema.ts places them.

import {
  cookieDomain,
  cookieName,
  listenAddress,
  nonBlank,
  redirectTarget,
  redisUrl,
  sealingSecret,
  webOrigin,
} from "./configFormats.ts";
import type { CustomReport, CustomResult, ObjectNode } from "./configSchema.ts";

// The last-seen time moves at most once a minute: a shorter idle timeout could not be honoured.
function parseIdleTimeout(value: unknown, path: string, report: CustomReport): CustomResult<number | null> {
  if (value === null) return { ok: true, value: null };
  if (typeof value !== "number" || !Number.isInteger(value) || value < 60 || value > 2592000) {
    report(path, "must be whole seconds from 60 to 2592000 (e.g. 1800 for half an hour), or null for none", {
      value,
    });
    return { ok: false };
  }
  return { ok: true, value };
}

export const sessionNode = {
  kind: "object",
  description: "Browser sessions: made at login, kept in encrypted cookies or in Redis.",
  fields: {
    store: {
      kind: "string",
      enum: ["cookie", "redis"],
      default: "cookie",
      description:
        "`cookie`: the whole session is sealed into cookies, nothing is stored server-side. `redis`: the cookie holds only a session id and a per-session secret; Redis holds the session encrypted with a key derived from that secret (needs `redis`). Use `redis` to share sessions and refreshes across replicas and to end sessions server-side.",
    },
    keys: {
      kind: "list",
      items: { kind: "string", format: sealingSecret, secret: true, description: "A sealing secret." },
      unique: true,
      default: [],
      description:
        "Secrets that seal session and login cookies (AES-256-GCM); the first seals, all unseal, so a new key goes first and an old one last until its sessions expire. Required when a provider has a `clientId` (here or through `keysFile`).",
    },
    keysFile: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description:
        "Read `keys` from this file instead, one key per line (the first seals; blank lines and `#` lines are skipped), e.g. a Kubernetes Secret mounted at `/etc/portcullis/session/keys`. Read at start and on every reload, and `serve --watch` watches it like the config file, so updating the Secret rotates the keys without a rollout (put the new key first and keep the old one after it until its sessions expire). At most one of `keys` and `keysFile`.",
    },
    cookieName: {
      kind: "string",
      format: cookieName,
      nullable: true,
      default: null,
      description:
        "Session cookie name; null = `__Host-portcullis` (host-only), or `portcullis` when `cookieDomain` is set.",
    },
    cookieDomain: {
      kind: "string",
      format: cookieDomain,
      nullable: true,
      default: null,
      description: "Share the session across subdomains of this domain; null = host-only cookies (safest).",
    },
    lifetimeSeconds: {
      kind: "integer",
      min: 60,
      max: 2592000,
      default: 86400,
      description: "Absolute session lifetime, however long the refresh token lasts.",
    },
    idleTimeoutSeconds: {
      kind: "custom",
      typeLabel: "integer 60..2592000 or null",
      parse: parseIdleTimeout,
      jsonSchema: { type: ["integer", "null"], minimum: 60, maximum: 2592000 },
      default: null,
      description:
        'End a session not used for this long (sliding; the last-seen time is written at most once a minute, so it may end up to a minute early), counted in `portcullis_sessions_ended_total{reason="idle"}` and logged at info; null = no idle timeout, only `lifetimeSeconds`.',
    },
    maxTokenLifetimeSeconds: {
      kind: "integer",
      min: 60,
      max: 2592000,
      default: 86400,
      description:
        "The longest lifetime (`exp` − `iat`) of the access tokens your providers issue. A back-channel logout is kept in the revocation list for the longest of this, `lifetimeSeconds` and every provider's `maxTokenLifetimeSeconds`, so that it refuses the bearer tokens issued before it for as long as they live (it refuses sessions as well). This key refuses no token: to refuse longer-lived tokens, set `providers.<name>.maxTokenLifetimeSeconds`, which also lengthens how long revocations are kept.",
    },
    refreshWindowSeconds: {
      kind: "integer",
      min: 0,
      max: 3600,
      default: 300,
      description: "Refresh the access token when it expires within this many seconds.",
    },
    loginTimeoutSeconds: {
      kind: "integer",
      min: 30,
      max: 600,
      default: 600,
      description: "How long a started login may take before its transaction cookie expires.",
    },
    maxPendingLogins: {
      kind: "integer",
      min: 1,
      max: 20,
      default: 5,
      description: "Logins pending at once per browser (several tabs); the oldest is dropped beyond this.",
    },
    allowedRedirectOrigins: {
      kind: "list",
      items: { kind: "string", format: webOrigin, description: "An origin." },
      unique: true,
      default: [],
      description:
        "Origins besides the login origin (that of `redirectUri`) that return URLs and post-logout redirects may point to.",
    },
    postLogoutRedirect: {
      kind: "string",
      format: redirectTarget,
      default: "/",
      description: "Where the browser lands after sign-out: a path on the login origin or a URL on an allowed origin.",
    },
  },
} as const satisfies ObjectNode;

export const redisNode = {
  kind: "object",
  description:
    "Redis, shared by every replica: the session store (`session.store: redis`), the refresh lock, and the back-channel logout and sign-out revocations and the replay guard. Without it each replica knows only its own logouts and sign-outs.",
  fields: {
    url: {
      kind: "string",
      format: redisUrl,
      nullable: true,
      default: null,
      description: "`redis://host:6379[/db]`, or `rediss://` for TLS; null = no Redis.",
    },
    sentinels: {
      kind: "list",
      items: { kind: "string", format: listenAddress, description: "A sentinel's `host:port`." },
      unique: true,
      default: [],
      description: "Redis Sentinel: ask these for the current master (`url` then only sets TLS and the database).",
    },
    sentinelMaster: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description: "The master's name in Sentinel; required with `sentinels`.",
    },
    username: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description: "ACL user name (Redis 6+); null = default user.",
    },
    password: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      secret: true,
      description:
        "Password (`requirepass` or the ACL user's); write `${REDIS_PASSWORD}` to take it from the environment.",
    },
    caFile: {
      kind: "string",
      format: nonBlank,
      nullable: true,
      default: null,
      description:
        "PEM file of CA certificates that sign the server's certificate (rediss:// only); null = the system's.",
    },
    keyPrefix: {
      kind: "string",
      pattern: /^[A-Za-z0-9:_.-]{1,64}$/,
      default: "portcullis:",
      description: "Prefix of every key and channel, so several deployments can share one Redis.",
    },
    connectTimeoutMs: {
      kind: "integer",
      min: 100,
      max: 60000,
      default: 2000,
      description: "Timeout of each connection attempt; reconnects back off up to 2 s.",
    },
    commandTimeoutMs: {
      kind: "integer",
      min: 10,
      max: 10000,
      default: 500,
      description:
        "Timeout of each command; a slower Redis counts as unavailable (session requests get 503, bearer tokens are unaffected).",
    },
  },
} as const satisfies ObjectNode;
