// The `log.traceRequests` section of the config schema: a request that carries the trace header,
// from a trusted address or with the secret, is logged with its full decision trace (the shape of
// `explain --json`). Off by default; docs/explain.md describes who may ask and what is logged.
import { headerName, sealingSecret } from "./configFormats.ts";
import type { ObjectNode } from "./configSchema.ts";
import { proxyCidr } from "./forwardAuthSchema.ts";

export const traceRequestsNode = {
  kind: "object",
  typeOptional: true,
  description:
    "Trace on demand: a Check whose request carries `header`, from one of `trustedAddresses` or with `secret` as its value, is logged at `info` with every step of its decision, as `portcullis explain --json` prints it (docs/explain.md). The header is removed before the upstream whether or not a trace is made; its value is never logged.",
  fields: {
    enabled: { kind: "boolean", default: false, description: "Honour the trace header." },
    header: {
      kind: "string",
      format: headerName,
      default: "x-portcullis-trace",
      description:
        "Request header that asks for a trace (Envoy passes it to the Check: `check-config --envoy` lists it).",
    },
    trustedAddresses: {
      kind: "list",
      items: { kind: "string", format: proxyCidr, description: "An address block." },
      unique: true,
      default: [],
      description:
        "Clients whose trace header is honoured whatever its value: the address Envoy reports as the downstream peer (`attributes.source.address`: the TCP peer of Envoy's listener, or what a PROXY-protocol listener filter says; never `X-Forwarded-For`). Behind a load balancer that is the balancer's address, which trusts everyone behind it. Not used on the forward-auth endpoint, whose peer is the proxy: there only `secret` opens a trace.",
    },
    secret: {
      kind: "string",
      format: sealingSecret,
      nullable: true,
      default: null,
      secret: true,
      description:
        "A header value that opens a trace from any address (compared in constant time); pass it as `${ENV_VAR}`, at least 32 characters. null: only `trustedAddresses`.",
    },
    maxPerSecond: {
      kind: "integer",
      min: 1,
      max: 1000,
      default: 10,
      description:
        "Traces logged per second at most, per process (a token bucket of this size, refilled at this rate); beyond it the request is decided untraced and counted as `rate_limited`.",
    },
  },
} as const satisfies ObjectNode;
