// The `admin` section of the config schema: the session-control API on the admin listener, off by
// default and on only with a bearer token that comes from the environment (checkAdminApiRules
// refuses one written in the file). Its own file like tracingSchema.ts.
import type { ObjectNode } from "./configSchema.ts";
import { sealingSecret } from "./configFormats.ts";

export const adminNode = {
  kind: "object",
  typeOptional: true,
  description:
    "The admin listener's session-control API (docs/sessions-admin.md); `/metrics`, `/healthz` and `/readyz` are served whatever this says.",
  fields: {
    api: {
      kind: "object",
      description:
        "`GET /admin/sessions`, `DELETE /admin/sessions/{handle}`, `POST /admin/users/revoke` on `listen.admin`: list a user's sessions and end one or all of them on every replica.",
      fields: {
        enabled: {
          kind: "boolean",
          default: false,
          description: "Serve the API; off, every `/admin/` path answers 404.",
        },
        token: {
          kind: "string",
          format: sealingSecret,
          nullable: true,
          secret: true,
          default: null,
          description:
            "The bearer token every API request must carry (`Authorization: Bearer …`); required when `enabled`; must come from the environment (`${PORTCULLIS_ADMIN_TOKEN}`), 32+ characters, e.g. from `openssl rand -base64 32`. A reload rotates it or turns the API off at once, with `serve --workers` in the supervisor too (turning the API on there needs a restart).",
        },
      },
    },
  },
} as const satisfies ObjectNode;
