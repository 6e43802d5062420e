// Differential: the Check wire codec (decodeCheckRequest, encodeCheckResponse) against the reference
// it replaced, proto-loader reflection over proto/ plus toAccessRequest / toCheckResponse. Requests
// are built with protobufjs from Envoy's complete upstream protos, unknown fields of every wire type
// spliced in at every level; decisions are encoded by both and must be byte-equal (both write fields
// in number order with the same explicit zeroes). Malformed bytes are refused, never decoded looser.
import { execFileSync } from "node:child_process";
import * as protoLoader from "@grpc/proto-loader";
import fc from "fast-check";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import type { Decision } from "../../src/core/Decision.ts";
import {
  CheckRequestRefused,
  decodeCheckRequest,
  MAX_CHECK_HEADERS,
  MAX_CHECK_REQUEST_BYTES,
} from "../../src/transport/decodeCheckRequest.ts";
import { encodeCheckResponse } from "../../src/transport/encodeCheckResponse.ts";
import { decodeHealthCheckRequest, encodeHealthCheckResponse } from "../../src/transport/healthServiceDefinition.ts";
import { PROTO_LOADER_OPTIONS } from "../../src/transport/loadProtos.ts";
import { toAccessRequest, type CheckRequestWire } from "../../src/transport/toAccessRequest.ts";
import { toCheckResponse } from "../../src/transport/toCheckResponse.ts";
import { propertyRuns } from "../harness/propertyRuns.ts";
import { loadUpstreamExtAuthzTypes } from "../harness/upstreamExtAuthzTypes.ts";
import { bytesField, concatBytes, stringField, tagBytes, unknownField, varintBytes } from "../harness/protobufWire.ts";

const upstream = loadUpstreamExtAuthzTypes();
const definition = protoLoader.loadSync("envoy/service/auth/v3/external_auth.proto", PROTO_LOADER_OPTIONS);
const reference = (
  definition["envoy.service.auth.v3.Authorization"] as Record<string, protoLoader.MethodDefinition<object, object>>
)["Check"]!;

/** The reference path: proto-loader's decode of proto/, then toAccessRequest; null when it throws. */
function referenceDecode(bytes: Uint8Array): AccessRequest | null {
  try {
    return toAccessRequest(reference.requestDeserialize(Buffer.from(bytes)) as CheckRequestWire);
  } catch {
    return null;
  }
}

/** Header order is not part of an AccessRequest's meaning (lookups are by name). */
function comparable(request: AccessRequest): object {
  return { ...request, headers: [...request.headers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) };
}

const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 60 }),
  fc.constantFrom("", "GET", "post", "/api/x?q=1", "https", "Example.COM:8443", "a..b", "[::1]:80", "h:0"),
);
// No "_": a key "__proto__" is lost by the reference's plain-object map (it keeps it), a difference
// of the reference, not a decision.
const headerName = fc.oneof(
  fc.constantFrom(":authority", ":method", ":path", ":scheme", "authorization", "cookie", "x-request-id"),
  fc.constantFrom("X-Request-Id", "Content-Type", ":Authority", ""),
  fc.stringMatching(/^[a-zA-Z0-9:.-]{1,10}$/),
);
const unknowns = fc.array(unknownField, { maxLength: 3 });
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

// One HeaderValue of header_map, optionally with unknown fields of its own.
const headerValueBytes = fc
  .tuple(
    fc.record({ key: maybe(headerName), value: maybe(text), raw_value: maybe(fc.uint8Array({ maxLength: 12 })) }),
    unknowns,
  )
  .map(([v, extra]) =>
    concatBytes([upstream.headerValue.encode(upstream.headerValue.fromObject(v)).finish(), ...extra]),
  );
// One headers-map entry (key 1, value 2), either part left out, with unknown fields.
const mapEntryBytes = (name: string) =>
  fc
    .tuple(text, fc.boolean(), unknowns)
    .map(([value, omitValue, extra]) =>
      concatBytes([
        name === "" ? new Uint8Array() : stringField(1, name),
        omitValue ? new Uint8Array() : stringField(2, value),
        ...extra,
      ]),
    );
const headersMap = fc
  .uniqueArray(headerName, { selector: (n) => n.toLowerCase(), maxLength: 10 })
  .chain((names) => fc.tuple(...names.map((n) => mapEntryBytes(n))))
  .map((entries) => entries.map((e) => bytesField(3, e)));
const headerMapField = fc
  .tuple(fc.array(headerValueBytes, { maxLength: 8 }), unknowns)
  .map(([values, extra]) => bytesField(13, concatBytes([...values.map((v) => bytesField(1, v)), ...extra])));

const httpScalars = fc.record(
  {
    id: text,
    method: text,
    path: text,
    host: text,
    scheme: text,
    query: text,
    fragment: text,
    size: fc.integer({ min: -1, max: 2 ** 40 }),
    protocol: text,
    body: text,
    raw_body: fc.uint8Array({ maxLength: 16 }),
  },
  { requiredKeys: [] },
);
// A singular string given again later on the wire: the last one counts, for both decoders.
const restatedString = fc.tuple(fc.constantFrom(1, 2, 4, 5, 6), text).map(([f, v]) => stringField(f, v));

/** Field segments in a generated order: the wire order of fields is free. */
function shuffled(segments: Uint8Array[], order: number[]): Uint8Array {
  const keyed = segments.map((s, i) => ({ s, k: order[i % order.length]! * 64 + i }));
  return concatBytes(keyed.sort((a, b) => a.k - b.k).map((x) => x.s));
}
const order = fc.array(fc.nat(1000), { minLength: 8, maxLength: 8 });

const httpBytes = fc
  .tuple(
    httpScalars,
    maybe(headersMap),
    maybe(headerMapField),
    fc.array(restatedString, { maxLength: 2 }),
    unknowns,
    order,
  )
  .map(([scalars, map, raw, restated, extra, o]) => {
    const base = upstream.httpRequest.encode(upstream.httpRequest.fromObject(scalars)).finish();
    // Restated strings come after the first statement, so "last wins" has one answer.
    return concatBytes([
      shuffled([base, ...(map ?? []), ...(raw === undefined ? [] : [raw]), ...extra], o),
      ...restated,
    ]);
  });

// A real client certificate as Envoy sends it (URL-encoded PEM), so the differential covers a read
// certificate as well as unreadable values; made once with openssl, the key thrown away.
const CERTIFICATE_PEM = execFileSync(
  "openssl",
  [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:prime256v1",
    "-nodes",
    "-keyout",
    "/dev/null",
  ].concat([
    "-subj",
    "/O=Codec/CN=client",
    "-days",
    "1",
    "-addext",
    "subjectAltName=URI:spiffe://example.org/c,DNS:c.example",
  ]),
  { encoding: "utf8", timeout: 30_000 },
);
const certificateText = fc.oneof(
  text,
  fc.constantFrom(
    encodeURIComponent(CERTIFICATE_PEM),
    CERTIFICATE_PEM,
    encodeURIComponent(CERTIFICATE_PEM).slice(0, 200),
  ),
);
const peer = fc.record(
  {
    address: fc.record({ socket_address: fc.record({ address: text, port_value: fc.nat(65535) }) }),
    service: text,
    labels: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), text, { maxKeys: 3 }),
    principal: text,
    certificate: certificateText,
  },
  { requiredKeys: [] },
);
const attributeScalars = fc.record(
  {
    source: peer,
    destination: peer,
    context_extensions: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), text, { maxKeys: 3 }),
    metadata_context: fc.record({
      filter_metadata: fc.dictionary(
        fc.stringMatching(/^[a-z.]{1,8}$/),
        fc.record({ fields: fc.dictionary(fc.stringMatching(/^[a-z]{1,5}$/), fc.record({ stringValue: text })) }),
        { maxKeys: 2 },
      ),
    }),
  },
  { requiredKeys: [] },
);
// AttributeContext.tls_session (12): its sni (1), restated or left out, and unknown fields; once at most.
const tlsSessionField = fc
  .tuple(maybe(text), maybe(text), unknowns, order)
  .map(([sni, restated, extra, o]) =>
    bytesField(
      12,
      concatBytes([
        shuffled([...(sni === undefined ? [] : [stringField(1, sni)]), ...extra], o),
        ...(restated === undefined ? [] : [stringField(1, restated)]),
      ]),
    ),
  );

/** A CheckRequest as Envoy could send it, and then some: unknown fields at every level, any order. */
const checkRequestBytes = fc
  .tuple(
    attributeScalars,
    maybe(httpBytes),
    maybe(tlsSessionField),
    fc.record({ seconds: fc.nat(), nanos: fc.nat(999_999_999) }),
    fc.tuple(unknowns, unknowns, unknowns),
    order,
  )
  .map(([scalars, http, tls, time, [inRequest, inAttributes, inCheck], o]) => {
    const timeBytes = upstream.request.encode(upstream.request.fromObject({ time })).finish();
    const request = shuffled([timeBytes, ...(http === undefined ? [] : [bytesField(2, http)]), ...inRequest], o);
    const attributes = upstream.attributeContext.encode(upstream.attributeContext.fromObject(scalars)).finish();
    const context = shuffled(
      [attributes, bytesField(4, request), ...(tls === undefined ? [] : [tls]), ...inAttributes],
      o,
    );
    return shuffled([bytesField(1, context), ...inCheck], o);
  });

// The fields the codec reads, level by level: a message to descend into, or a field kept whole.
const READ_FIELDS: Record<string, Record<number, string>> = {
  check: { 1: "attributes" },
  attributes: { 1: "source", 4: "request", 12: "tls" },
  tls: { 1: "keep" },
  source: { 1: "address", 5: "keep" },
  address: { 1: "socket" },
  socket: { 2: "keep" },
  request: { 2: "http" },
  http: { 1: "keep", 2: "keep", 3: "keep", 4: "keep", 5: "keep", 6: "keep", 13: "keep" },
};

/**
 * The bytes with every field the codec does not read taken out, walked with protobufjs's own
 * reader. The codec skips those fields unread (it does not parse a peer address it never uses);
 * protobufjs parses them, so a fault inside one fails the reference and not the codec.
 */
function readFieldsOnly(bytes: Uint8Array, level = "check"): Uint8Array {
  const reader = protobuf.Reader.create(bytes);
  const parts: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    const into = READ_FIELDS[level]![tag >>> 3];
    if (into !== undefined && into !== "keep" && (tag & 7) === 2) {
      parts.push(bytesField(tag >>> 3, readFieldsOnly(reader.bytes(), into)));
      continue;
    }
    reader.skipType(tag & 7);
    if (into !== undefined) parts.push(bytes.subarray(start, reader.pos));
  }
  return concatBytes(parts);
}

/**
 * Never throws; when it accepts, the reference reads the same meaning from the same bytes with
 * the fields the codec does not read taken out (they cannot change a decision).
 */
function neverLooser(bytes: Uint8Array): void {
  const decoded = decodeCheckRequest(Buffer.from(bytes));
  if (decoded instanceof CheckRequestRefused) return;
  let pruned: Uint8Array | null = null;
  try {
    pruned = readFieldsOnly(bytes);
  } catch {
    // protobufjs's reader refused the fields the codec read: the codec must have refused too.
  }
  expect(pruned, "the codec accepted what protobufjs cannot read").not.toBeNull();
  const expected = referenceDecode(pruned!);
  expect(expected, "the reference refuses what the codec accepted").not.toBeNull();
  expect(comparable(decoded)).toEqual(comparable(expected!));
}

/** The method as the request carries it (the field, else the :method header), before upper-casing. */
function wireMethod(bytes: Uint8Array): string {
  const wire = reference.requestDeserialize(Buffer.from(bytes)) as CheckRequestWire;
  const http = wire.attributes?.request?.http ?? {};
  if (http.method) return http.method;
  const raw = http.header_map?.headers;
  if (raw && raw.length > 0)
    return raw
      .filter((h) => h.key?.toLowerCase() === ":method")
      .map((h) => (h.raw_value && h.raw_value.length > 0 ? h.raw_value.toString("latin1") : (h.value ?? "")))
      .join(",");
  return Object.entries(http.headers ?? {}).find(([k]) => k.toLowerCase() === ":method")?.[1] ?? "";
}

describe("the CheckRequest wire decoder against proto-loader and toAccessRequest", () => {
  it("decodes every generated CheckRequest to the same AccessRequest as the reference", () => {
    fc.assert(
      fc.property(checkRequestBytes, (bytes) => {
        const decoded = decodeCheckRequest(Buffer.from(bytes));
        // The one refusal of bytes Envoy could frame: a method toUpperCase() could fold into an ASCII one.
        if (decoded instanceof CheckRequestRefused && decoded.reason === "a method that is not ASCII") {
          expect(wireMethod(bytes)).toMatch(/[^\x00-\x7f]/);
          return;
        }
        expect(decoded instanceof CheckRequestRefused ? decoded.reason : "decoded").toBe("decoded");
        const expected = referenceDecode(bytes);
        expect(expected).not.toBeNull();
        expect(comparable(decoded as AccessRequest)).toEqual(comparable(expected!));
      }),
      { numRuns: propertyRuns(2000) },
    );
  });

  it("refuses a request cut short, overwritten or grown by a byte, or reads what the reference reads from the fields it uses", () => {
    const mutated = fc
      .tuple(checkRequestBytes, fc.nat(), fc.nat(255), fc.constantFrom("cut", "overwrite", "insert"))
      .filter(([bytes]) => bytes.length > 0)
      .map(([bytes, at, byte, how]) => {
        const i = at % bytes.length;
        if (how === "cut") return bytes.subarray(0, i);
        if (how === "insert") return concatBytes([bytes.subarray(0, i), Uint8Array.of(byte), bytes.subarray(i)]);
        const copy = Uint8Array.from(bytes);
        copy[i] = byte;
        return copy;
      });
    fc.assert(fc.property(mutated, neverLooser), { numRuns: propertyRuns(3000) });
  });

  it("refuses any string of bytes, or reads what the reference reads from the fields it uses", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), neverLooser), { numRuns: propertyRuns(3000) });
  });
});

/** CheckRequest { attributes { request { http { <http> } } } } around raw HttpRequest bytes. */
const aroundHttp = (http: Uint8Array) => bytesField(1, bytesField(4, bytesField(2, http)));
const refused = (bytes: Uint8Array) => decodeCheckRequest(Buffer.from(bytes)) instanceof CheckRequestRefused;

describe("the CheckRequest wire decoder refuses what Envoy cannot send", () => {
  it("reads the TLS server name, the last one stated, and refuses tls_session given twice", () => {
    const tls = (...snis: string[]) => bytesField(12, concatBytes(snis.map((sni) => stringField(1, sni))));
    const decoded = decodeCheckRequest(Buffer.from(bytesField(1, tls("a.example.com", "b.example.com"))));
    expect(decoded instanceof CheckRequestRefused ? decoded.reason : decoded.sni).toBe("b.example.com");
    expect(refused(bytesField(1, concatBytes([tls("a.example.com"), tls("b.example.com")])))).toBe(true);
  });

  it("refuses a known field with another wire type (a method sent as a varint)", () => {
    expect(refused(aroundHttp(concatBytes([tagBytes(2, 0), varintBytes(5n)])))).toBe(true);
    expect(refused(concatBytes([tagBytes(1, 0), varintBytes(1n)]))).toBe(true);
  });

  it("refuses a truncated varint, a varint of 11 bytes and a length past the end of its message", () => {
    expect(refused(Uint8Array.of(0x0a, 0x80))).toBe(true);
    expect(refused(concatBytes([tagBytes(100, 0), new Uint8Array(10).fill(0x80), Uint8Array.of(1)]))).toBe(true);
    expect(refused(Uint8Array.of(0x0a, 0x05, 0x22, 0x10))).toBe(true);
    expect(refused(aroundHttp(Uint8Array.of(0x12, 0x7f, 0x41)))).toBe(true);
  });

  it("refuses field number 0, wire types 6 and 7, an end group without a start and a group ended by another field", () => {
    expect(refused(Uint8Array.of(0x00, 0x01))).toBe(true);
    expect(refused(concatBytes([tagBytes(100, 6)]))).toBe(true);
    expect(refused(concatBytes([tagBytes(100, 7)]))).toBe(true);
    expect(refused(concatBytes([tagBytes(100, 4)]))).toBe(true);
    expect(refused(concatBytes([tagBytes(100, 3), tagBytes(101, 4)]))).toBe(true);
    expect(refused(concatBytes([tagBytes(100, 3), tagBytes(100, 4)]))).toBe(false);
  });

  it("refuses attributes, request, http or header_map given twice, where protobufjs keeps the last and protobuf merges", () => {
    const http = stringField(2, "GET");
    expect(refused(concatBytes([aroundHttp(http), aroundHttp(http)]))).toBe(true);
    expect(
      refused(bytesField(1, concatBytes([bytesField(4, bytesField(2, http)), bytesField(4, bytesField(2, http))]))),
    ).toBe(true);
    expect(refused(bytesField(1, bytesField(4, concatBytes([bytesField(2, http), bytesField(2, http)]))))).toBe(true);
    const headerMap = bytesField(13, bytesField(1, stringField(1, "a")));
    expect(refused(aroundHttp(concatBytes([headerMap, headerMap])))).toBe(true);
  });

  it("refuses attributes.source given twice, and reads the certificate of the source peer only", () => {
    const source = bytesField(1, stringField(5, encodeURIComponent(CERTIFICATE_PEM)));
    const request = bytesField(4, bytesField(2, stringField(2, "GET")));
    expect(refused(bytesField(1, concatBytes([source, source, request])))).toBe(true);
    const once = decodeCheckRequest(Buffer.from(bytesField(1, concatBytes([source, request])))) as AccessRequest;
    expect(once.clientCertificate?.uris).toEqual(["spiffe://example.org/c"]);
    const destination = bytesField(2, stringField(5, encodeURIComponent(CERTIFICATE_PEM)));
    const other = decodeCheckRequest(Buffer.from(bytesField(1, concatBytes([destination, request])))) as AccessRequest;
    expect(other.clientCertificate).toBeUndefined();
  });

  it("refuses a header named twice in the headers map, in any case, which Envoy joins into one entry", () => {
    const entry = (name: string) => bytesField(3, concatBytes([stringField(1, name), stringField(2, "v")]));
    expect(refused(aroundHttp(concatBytes([entry("x-a"), entry("x-a")])))).toBe(true);
    expect(refused(aroundHttp(concatBytes([entry("X-A"), entry("x-a")])))).toBe(true);
    expect(refused(aroundHttp(concatBytes([entry("x-a"), entry("x-b")])))).toBe(false);
  });

  it(`refuses more than ${MAX_CHECK_HEADERS} headers in either form and a message over ${MAX_CHECK_REQUEST_BYTES} bytes`, () => {
    const entries = (n: number) =>
      Array.from({ length: n }, (_, i) => bytesField(3, concatBytes([stringField(1, `h${i}`), stringField(2, "v")])));
    expect(refused(aroundHttp(concatBytes(entries(MAX_CHECK_HEADERS))))).toBe(false);
    expect(refused(aroundHttp(concatBytes(entries(MAX_CHECK_HEADERS + 1))))).toBe(true);
    const values = (n: number) => Array.from({ length: n }, () => bytesField(1, stringField(1, "x")));
    expect(refused(aroundHttp(bytesField(13, concatBytes(values(MAX_CHECK_HEADERS + 1)))))).toBe(true);
    const big = concatBytes([
      aroundHttp(stringField(4, "/")),
      bytesField(100, new Uint8Array(MAX_CHECK_REQUEST_BYTES)),
    ]);
    expect(refused(big)).toBe(true);
  });
});

// Well-formed strings only: one with a lone surrogate has no UTF-8 form (tested below).
const wellFormed = text.filter((s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed());
const headerList = fc.array(fc.tuple(fc.oneof(headerName, fc.constant("set-cookie")), wellFormed), { maxLength: 6 });
// Field names unique (a Struct is a map), never "__proto__" (lost by the reference's plain object).
const metadata = fc.record({
  namespace: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_-]{0,12}$/),
  fields: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z][a-z0-9_.:]{0,10}$/), wellFormed), {
    maxLength: 8,
    selector: ([name]) => name,
  }),
});
const allow = fc.record({
  kind: fc.constant("allow" as const),
  route: fc.constant("r"),
  reason: fc.constantFrom("public" as const, "anonymous" as const, "authenticated" as const),
  setHeaders: headerList,
  removeHeaders: fc.array(fc.oneof(headerName, wellFormed), { maxLength: 6 }),
  responseHeaders: maybe(headerList),
  removeQueryParameters: maybe(fc.array(fc.oneof(fc.constant("access_token"), wellFormed), { maxLength: 3 })),
  metadata: maybe(metadata),
});
const deny = fc.record({
  kind: fc.constant("deny" as const),
  route: fc.constant(null),
  code: fc.constant("internal_error" as const),
  status: fc.oneof(fc.constantFrom(302, 400, 401, 403, 404, 503), fc.integer({ min: 100, max: 999 })),
  headers: headerList,
  body: fc.oneof(
    wellFormed,
    wellFormed.map((s) => s.repeat(50)),
  ),
  metadata: maybe(metadata),
});

describe("the CheckResponse wire encoder against toCheckResponse and protobufjs", () => {
  it("writes the same bytes as protobufjs for every generated allow and denial, dynamic metadata included", () => {
    fc.assert(
      fc.property(fc.oneof(allow, deny), (decision: Decision) => {
        const bytes = encodeCheckResponse(decision);
        expect(bytes).not.toBeNull();
        const expected = reference.responseSerialize(toCheckResponse(decision));
        expect(Buffer.from(bytes!).toString("hex")).toBe(Buffer.from(expected).toString("hex"));
        // And Envoy's complete definition reads them back as the decision it came from.
        const read = upstream.checkResponse.toObject(upstream.checkResponse.decode(bytes!), { enums: Number });
        expect(read["status"]).toEqual({ code: expect.any(Number) });
        // Envoy strips exactly the query parameters the decision names (a query token source's).
        if (decision.kind === "allow") {
          const ok = read["ok_response"] as { query_parameters_to_remove?: string[] } | undefined;
          expect(ok?.query_parameters_to_remove ?? []).toEqual(decision.removeQueryParameters ?? []);
        }
        // Allow or denial, Envoy reads the metadata back field for field.
        if (decision.metadata !== undefined && decision.metadata.fields.length > 0) {
          const { namespace, fields } = decision.metadata;
          const struct = (read["dynamic_metadata"] as { fields: Record<string, { structValue: unknown }> }).fields;
          const inner = (struct[namespace]!.structValue as { fields?: Record<string, { stringValue: string }> }).fields;
          expect(Object.entries(inner ?? {}).map(([k, v]) => [k, v.stringValue])).toEqual(fields);
        }
      }),
      { numRuns: propertyRuns(3000) },
    );
  });

  it("writes nothing for a decision carrying a lone surrogate, which has no UTF-8 form", () => {
    const lone = fc.constantFrom("\ud800", "a\udc00", "x\ud83d");
    fc.assert(
      fc.property(lone, fc.constantFrom("key", "value", "remove"), (s, where) => {
        const decision: Decision = {
          kind: "allow",
          route: "r",
          reason: "authenticated",
          setHeaders: [[where === "key" ? s : "x-user-sub", where === "value" ? s : "alice"]],
          removeHeaders: where === "remove" ? [s] : [],
        };
        expect(encodeCheckResponse(decision)).toBeNull();
      }),
      { numRuns: propertyRuns(50) },
    );
  });
});

const healthDefinition = protoLoader.loadSync("grpc/health/v1/health.proto", PROTO_LOADER_OPTIONS);
const health = healthDefinition["grpc.health.v1.Health"] as Record<
  string,
  protoLoader.MethodDefinition<object, object>
>;

describe("the grpc.health.v1 codec against proto-loader", () => {
  it("reads the service name proto-loader reads from every generated HealthCheckRequest", () => {
    const request = fc
      .tuple(maybe(text), unknowns, order)
      .map(([service, extra, o]) =>
        shuffled([health["Check"]!.requestSerialize(service === undefined ? {} : { service }), ...extra], o),
      );
    fc.assert(
      fc.property(request, (bytes) => {
        const expected = (health["Check"]!.requestDeserialize(Buffer.from(bytes)) as { service?: string }).service;
        expect(decodeHealthCheckRequest(Buffer.from(bytes)).service).toBe(expected ?? "");
      }),
      { numRuns: propertyRuns(1000) },
    );
  });

  it("writes the bytes proto-loader writes for every serving status", () => {
    for (const status of [0, 1, 2, 3])
      for (const method of ["Check", "Watch"])
        expect(encodeHealthCheckResponse({ status })).toEqual(health[method]!.responseSerialize({ status }));
  });
});
