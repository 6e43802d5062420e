// Renders envoy/demo.yaml (a template with {{NAME}} placeholders) into a concrete Envoy config.
// The demo and the e2e harness both go through here, so the tested config is the shipped one.
// Every placeholder must be given and every given value must be used; values are YAML-quoted.
// With `mtls` the demo's mTLS listener is added, a copy of the https one (addMtlsListener.ts).

import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { addMtlsListener } from "./addMtlsListener.ts";
import type { MtlsListenerValues } from "./addMtlsListener.ts";

export interface EnvoyConfigValues {
  /** Envoy admin port on 127.0.0.1; 0 = ephemeral (read back via --admin-address-path). */
  readonly adminPort: number;
  readonly listenAddress: string;
  /** The HTTPS listener; 0 = ephemeral (read back from the admin /listeners). */
  readonly listenPort: number;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  /** Portcullis gRPC ext_authz port on 127.0.0.1. */
  readonly extAuthzPort: number;
  /** Portcullis auth (/oauth2/*) port on 127.0.0.1. */
  readonly authPort: number;
  readonly upstreamPort: number;
  /**
   * How long Envoy waits for a Check answer before denying with 503; default 1000 (the demo's 1 s).
   * The e2e tests give loaded CI machines more room; keep it above the providers' jwksTimeoutMs.
   */
  readonly extAuthzTimeoutMs?: number;
  /**
   * The request headers ext_authz sends Portcullis (its allowed_headers): those the Portcullis
   * config being run reads, from src/app/envoyAllowedHeaders.ts. Required: a list for another
   * config could keep from Portcullis a header it must see (a removal to make, the session cookie).
   */
  readonly allowedHeaders: readonly string[];
  /** A second listener, `mtls`, requiring client certificates from this CA (the demo's); absent = none. */
  readonly mtls?: MtlsListenerValues;
}

export const DEMO_ENVOY_TEMPLATE = new URL("../../envoy/demo.yaml", import.meta.url);

export async function renderEnvoyConfig(
  values: EnvoyConfigValues,
  template: URL | string = DEMO_ENVOY_TEMPLATE,
): Promise<string> {
  const text = await readFile(template, "utf8");
  const rendered = fillTemplate(text, {
    ADMIN_PORT: port(values.adminPort),
    LISTEN_ADDRESS: values.listenAddress,
    LISTEN_PORT: port(values.listenPort),
    TLS_CERT_FILE: values.tlsCertFile,
    TLS_KEY_FILE: values.tlsKeyFile,
    EXT_AUTHZ_PORT: port(values.extAuthzPort),
    AUTH_PORT: port(values.authPort),
    UPSTREAM_PORT: port(values.upstreamPort),
    EXT_AUTHZ_TIMEOUT: duration(values.extAuthzTimeoutMs ?? 1000),
    EXT_AUTHZ_ALLOWED_HEADERS: patterns(values.allowedHeaders),
  });
  if (values.mtls === undefined) return rendered;
  return addMtlsListener(rendered, {
    listenPort: port(values.mtls.listenPort),
    clientCaFile: values.mtls.clientCaFile,
  });
}

/** A template value: strings are quoted, numbers written as they are, lists as JSON (a YAML flow sequence). */
export type TemplateValue = string | number | readonly Readonly<Record<string, string>>[];

export function fillTemplate(text: string, values: Readonly<Record<string, TemplateValue>>): string {
  const unused = new Set(Object.keys(values));
  const missing = new Set<string>();
  // Only the value lines, never the comments: a {{NAME}} in a comment is documentation.
  const rendered = text
    .split("\n")
    .map((line) => {
      const hash = line.search(/(^|\s)#/);
      const code = hash === -1 ? line : line.slice(0, hash);
      const comment = hash === -1 ? "" : line.slice(hash);
      return (
        code.replace(/\{\{([A-Z0-9_]+)\}\}/g, (_match, name: string) => {
          const value = values[name];
          if (value === undefined) {
            missing.add(name);
            return "";
          }
          unused.delete(name);
          return typeof value === "number" ? String(value) : JSON.stringify(value);
        }) + comment
      );
    })
    .join("\n");
  if (missing.size > 0) throw new Error(`Envoy template placeholders without a value: ${[...missing].join(", ")}`);
  if (unused.size > 0) throw new Error(`values not used by the Envoy template: ${[...unused].join(", ")}`);
  parse(rendered); // throws on a YAML error, before Envoy gets a chance to report it less clearly
  return rendered;
}

/** Milliseconds as an Envoy (protobuf JSON) duration: whole or fractional seconds, "1s", "0.25s". */
function duration(ms: number): string {
  if (!Number.isInteger(ms) || ms < 1 || ms > 600_000) throw new Error(`not a timeout in milliseconds: ${ms}`);
  return `${ms / 1000}s`;
}

/** Header names as Envoy StringMatcher patterns; a name that is not a lower-case HTTP token is refused. */
function patterns(names: readonly string[]): { exact: string }[] {
  if (names.length === 0) throw new Error("allowedHeaders is empty: Portcullis reads at least authorization");
  for (const name of names)
    if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(name))
      throw new Error(`not a lower-case header name: ${JSON.stringify(name)}`);
  return names.map((name) => ({ exact: name }));
}

function port(value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 65_535) throw new Error(`not a port: ${value}`);
  return value;
}
