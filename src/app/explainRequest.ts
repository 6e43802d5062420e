// `portcullis explain`: one request through the real Check pipeline of a config, with every step of
// the Gate recorded. The request is assembled as the ext_authz transport assembles it (same
// AccessRequest rule, so host and path reach the gate exactly as Envoy's would), and the providers
// load as `serve` loads them, except that with a key set file no IdP is called: discovery is
// answered from the config and every provider's keys from the file.
import type { PortcullisConfig } from "../config/PortcullisConfig.ts";
import { redactTokenParameters } from "./redactTokenParameters.ts";
import type { Decision } from "../core/Decision.ts";
import { createRecordingTrace, type GateTraceEntry } from "../core/GateTrace.ts";
import { createLogger } from "../observability/createLogger.ts";
import { discoveryUrl } from "../oidc/discoverProvider.ts";
import type { FetchLike } from "../oidc/boundedFetch.ts";
import { assembleAccessRequest } from "../transport/assembleAccessRequest.ts";
import { buildCheckPipeline } from "./buildCheckPipeline.ts";
import { credentialHeadersOf } from "./credentialHeadersOf.ts";

export interface ExplainInput {
  readonly method: string;
  /** `scheme://authority/raw-path?query`; the path is taken as written (not normalised by a URL parser). */
  readonly url: string;
  /** Request headers as `name: value` pairs; a repeated name is joined with "," as Envoy joins it. */
  readonly headers: readonly (readonly [string, string])[];
  /** A JWKS document every provider's keys come from instead of its IdP; null = discover and fetch as serve does. */
  readonly jwks: string | null;
}

export interface Explanation {
  readonly request: { readonly method: string; readonly scheme: string; readonly host: string; readonly path: string };
  readonly trace: readonly GateTraceEntry[];
  readonly decision: Decision;
  /** Headers whose values are credentials for the upstream (signed assertion, exchanged token): never printed. */
  readonly credentialHeaders: ReadonlySet<string>;
}

/** Splits `https://host:port/p?q#f` without resolving dot segments or escapes: the gate must see the raw path. */
export function splitRequestUrl(url: string): { scheme: string; authority: string; path: string } | null {
  const m = /^(https?):\/\/([^/?#]*)([^#]*)/i.exec(url);
  if (m === null || m[2] === "") return null;
  const rest = m[3] ?? "";
  return {
    scheme: (m[1] ?? "").toLowerCase(),
    authority: m[2] ?? "",
    path: rest === "" ? "/" : rest.startsWith("?") ? `/${rest}` : rest,
  };
}

/** Discovery answered from the config, and every key set from the file; any other IdP call fails (503 in the trace). */
function fileFetch(config: PortcullisConfig, jwks: string): FetchLike {
  const discovery = new Map<string, string>();
  const keySets = new Set<string>();
  for (const p of Object.values(config.providers)) {
    const jwksUri = p.jwksUri ?? `${p.issuer.replace(/\/$/, "")}/.portcullis-explain/jwks`;
    discovery.set(discoveryUrl(p.issuer), JSON.stringify({ issuer: p.issuer, jwks_uri: jwksUri }));
    keySets.add(jwksUri);
  }
  return (async (input: Parameters<FetchLike>[0]) => {
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const json = { "content-type": "application/json" };
    const found = discovery.get(url);
    if (found !== undefined) return new Response(found, { status: 200, headers: json });
    if (keySets.has(url)) return new Response(jwks, { status: 200, headers: json });
    return new Response("not available to explain --jwks", { status: 503 });
  }) as FetchLike;
}

/** `log` gets the pipeline's warnings (a provider that did not load, insecure settings) as log lines. */
export async function explainRequest(
  config: PortcullisConfig,
  input: ExplainInput,
  log: { write(text: string): unknown },
): Promise<Explanation> {
  const logger = createLogger("warn", { write: (line: string) => void log.write(line) });
  const parts = splitRequestUrl(input.url);
  if (parts === null) throw new Error(`${JSON.stringify(input.url)} is not an http(s) URL with a host`);
  const headers = new Map<string, string>();
  for (const [name, value] of input.headers) {
    const key = name.toLowerCase();
    const earlier = headers.get(key);
    headers.set(key, earlier === undefined ? value : `${earlier},${value}`);
  }
  const request = assembleAccessRequest(
    { id: "explain", method: input.method, path: parts.path, host: parts.authority, scheme: parts.scheme },
    headers,
  );
  const pipeline = buildCheckPipeline(
    config,
    logger,
    input.jwks === null ? {} : { fetch: fileFetch(config, input.jwks) },
  );
  try {
    await pipeline.registry.start();
    const trace = createRecordingTrace();
    const decision = await pipeline.gate.explain(request, trace);
    return {
      request: {
        method: request.method,
        scheme: request.scheme,
        host: request.host,
        path: redactTokenParameters(request.path, config),
      },
      trace: trace.entries,
      decision,
      credentialHeaders: credentialHeadersOf(config),
    };
  } finally {
    pipeline.registry.close();
    pipeline.login?.close();
  }
}
