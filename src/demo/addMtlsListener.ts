// The demo's mTLS listener, added to a rendered envoy/demo.yaml: a copy of the `https` listener, so
// its path normalisation, header stripping, 400 routes and fail-closed ext_authz stay the same as the
// main listener's by construction, whose TLS requires a client certificate signed by the given CA and
// whose ext_authz filter alone hands that certificate to Portcullis (include_peer_certificate).

import { isMap, isSeq, parseDocument, YAMLMap } from "yaml";
import type { Document, Node } from "yaml";

export interface MtlsListenerValues {
  /** The mTLS listener's port on the main listener's address; 0 = ephemeral. */
  readonly listenPort: number;
  /** The CA that signs the client certificates this listener accepts (PEM file). */
  readonly clientCaFile: string;
}

export const MTLS_LISTENER_NAME = "mtls";

export function addMtlsListener(rendered: string, values: MtlsListenerValues): string {
  const doc = parseDocument(rendered);
  const listeners = doc.getIn(["static_resources", "listeners"], true);
  if (!isSeq(listeners)) throw new Error("the rendered Envoy config has no static_resources.listeners");
  const https = listeners.items.find((item) => isMap(item) && item.get("name") === "https");
  if (!isMap(https)) throw new Error("the rendered Envoy config has no https listener");
  const mtls = https.clone() as YAMLMap;
  mtls.commentBefore =
    " The same listener with client certificates: required, verified against the demo's client CA, and\n" +
    " passed to Portcullis (bound tokens, machines admitted by their SPIFFE ID).";
  mtls.set("name", MTLS_LISTENER_NAME);
  mtls.setIn(["address", "socket_address", "port_value"], values.listenPort);
  const chains = mtls.get("filter_chains", true);
  if (!isSeq(chains) || chains.items.length !== 1) throw new Error("the https listener must have one filter chain");
  const chain = chains.items[0] as YAMLMap;
  const tls = chain.getIn(["transport_socket", "typed_config"], true) as YAMLMap;
  tls.set("require_client_certificate", true);
  tls.setIn(
    ["common_tls_context", "validation_context"],
    doc.createNode({ trusted_ca: { filename: values.clientCaFile } }, { flow: true }),
  );
  const hcm = chain.getIn(["filters", 0, "typed_config"], true) as YAMLMap;
  hcm.set("stat_prefix", "ingress_mtls");
  const extAuthz = (hcm.get("http_filters", true) as { items: Node[] } | undefined)?.items.find(
    (filter) => isMap(filter) && filter.get("name") === "envoy.filters.http.ext_authz",
  );
  const extAuthzConfig = isMap(extAuthz) ? extAuthz.get("typed_config", true) : undefined;
  if (!isMap(extAuthzConfig)) throw new Error("the https listener has no ext_authz filter");
  setWithComment(
    doc,
    extAuthzConfig,
    "include_peer_certificate",
    true,
    " The verified client certificate goes to Portcullis with every Check on this listener.",
  );
  listeners.items.push(mtls);
  return doc.toString({ lineWidth: 0 });
}

function setWithComment(
  doc: Document,
  map: YAMLMap<unknown, unknown>,
  key: string,
  value: unknown,
  comment: string,
): void {
  const pair = map.items.find((item) => (item.key as { value?: unknown } | null)?.value === key);
  const node = doc.createPair(key, value);
  (node.key as Node).commentBefore = comment;
  if (pair === undefined) map.items.push(node);
  else map.items.splice(map.items.indexOf(pair), 1, node);
}
