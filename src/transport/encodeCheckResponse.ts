// Decision → the ext_authz CheckResponse bytes, written directly: the same bytes protobufjs writes
// for toCheckResponse's object (fields in number order, the explicit zeroes included), which the
// differential test (test/unit/checkCodecProperty.test.ts) checks. A string with no UTF-8 form (a
// lone surrogate, e.g. from a claim) is not written at all: the caller answers with a denial instead.
import type { Decision, DynamicMetadata, HeaderList } from "../core/Decision.ts";

const GRPC_PERMISSION_DENIED = 7;
const GRPC_UNAVAILABLE = 14;
const GRPC_UNAUTHENTICATED = 16;
const APPEND_IF_EXISTS_OR_ADD = 0;
const OVERWRITE_IF_EXISTS_OR_ADD = 2;

// Tags (field number << 3 | wire type) of the fields written here.
const CHECK_RESPONSE_DENIED = 0x12; // CheckResponse.denied_response = 2
const CHECK_RESPONSE_OK = 0x1a; // CheckResponse.ok_response = 3
const OK_HEADERS = 0x12; // OkHttpResponse.headers = 2; DeniedHttpResponse.headers = 2 too
const OK_HEADERS_TO_REMOVE = 0x2a; // OkHttpResponse.headers_to_remove = 5
const OK_RESPONSE_HEADERS_TO_ADD = 0x32; // OkHttpResponse.response_headers_to_add = 6
const OK_QUERY_PARAMETERS_TO_REMOVE = 0x42; // OkHttpResponse.query_parameters_to_remove = 8
const DENIED_STATUS = 0x0a; // DeniedHttpResponse.status = 1
const DENIED_BODY = 0x1a; // DeniedHttpResponse.body = 3
const KEY = 0x0a; // HeaderValue.key = 1; HeaderValueOption.header = 1; HttpStatus.code = 1 is 0x08
const VALUE = 0x12; // HeaderValue.value = 2
const APPEND_ACTION = 0x18; // HeaderValueOption.append_action = 3
const CHECK_RESPONSE_METADATA = 0x22; // CheckResponse.dynamic_metadata = 4 (google.protobuf.Struct)
const STRUCT_FIELD = 0x0a; // Struct.fields = 1: map entries { key = 1, value = 2 }
const ENTRY_KEY = 0x0a;
const ENTRY_VALUE = 0x12;
const VALUE_STRING = 0x1a; // Value.string_value = 3
const VALUE_STRUCT = 0x2a; // Value.struct_value = 5

/** CheckResponse.status = google.rpc.Status { code }: four constant bytes per gRPC code. */
function statusBytes(code: number): Buffer {
  return Buffer.from([0x0a, 0x02, 0x08, code]);
}
const STATUS_OK = statusBytes(0);
const STATUS_UNAUTHENTICATED = statusBytes(GRPC_UNAUTHENTICATED);
const STATUS_UNAVAILABLE = statusBytes(GRPC_UNAVAILABLE);
const STATUS_PERMISSION_DENIED = statusBytes(GRPC_PERMISSION_DENIED);

interface WellFormed {
  isWellFormed(): boolean;
}

class NoUtf8Form {}
const NO_UTF8_FORM = new NoUtf8Form();

// UTF-8 lengths measured in the sizing pass, read back in the writing pass, in the same order.
const lengths: number[] = [];
let measured = 0;
let read = 0;
const EMPTY = Buffer.alloc(0);
let out: Buffer = EMPTY;
let at = 0;

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function measure(s: string): number {
  if (!(s as unknown as WellFormed).isWellFormed()) throw NO_UTF8_FORM;
  const n = Buffer.byteLength(s, "utf8");
  lengths[measured++] = n;
  return n;
}

/** Size of a length-delimited field's payload framing: tag + length + payload. */
function field(size: number): number {
  return 1 + varintSize(size) + size;
}

/** HeaderValueOption { header { key, value }, append_action } for sizes kl, vl. */
function headerOptionSize(kl: number, vl: number): number {
  return field(field(kl) + field(vl)) + 2;
}

function headerListSize(list: HeaderList): number {
  let size = 0;
  for (let i = 0; i < list.length; i++) {
    const [key, value] = list[i]!;
    size += field(headerOptionSize(measure(key), measure(value)));
  }
  return size;
}

/** Struct { fields: { namespace: Value { struct_value: Struct { fields: { name: Value { string_value } } } } } }. */
function metadataSize(metadata: DynamicMetadata): number {
  const namespace = measure(metadata.namespace);
  let inner = 0;
  for (const [name, value] of metadata.fields) inner += field(stringEntrySize(measure(name), measure(value)));
  return field(field(namespace) + field(field(inner)));
}

/** A map entry { key, Value { string_value } } for sizes kl, vl. */
function stringEntrySize(kl: number, vl: number): number {
  return field(kl) + field(field(vl));
}

function writeMetadata(metadata: DynamicMetadata): void {
  // The inner Struct's size again, from the lengths measured for it (after the namespace's).
  let inner = 0;
  for (let i = 0; i < metadata.fields.length; i++)
    inner += field(stringEntrySize(lengths[read + 1 + 2 * i]!, lengths[read + 2 + 2 * i]!));
  const namespaceEntry = field(lengths[read]!) + field(field(inner));
  out[at++] = CHECK_RESPONSE_METADATA;
  writeVarint(field(namespaceEntry));
  out[at++] = STRUCT_FIELD;
  writeVarint(namespaceEntry);
  writeString(ENTRY_KEY, metadata.namespace);
  out[at++] = ENTRY_VALUE;
  writeVarint(field(inner));
  out[at++] = VALUE_STRUCT;
  writeVarint(inner);
  for (const [name, value] of metadata.fields) {
    out[at++] = STRUCT_FIELD;
    writeVarint(stringEntrySize(lengths[read]!, lengths[read + 1]!));
    const vl = lengths[read + 1]!;
    writeString(ENTRY_KEY, name);
    out[at++] = ENTRY_VALUE;
    writeVarint(field(vl));
    writeString(VALUE_STRING, value);
  }
}

function writeVarint(n: number): void {
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[at++] = n;
}

/** Buffer's own writer, as protobufjs calls it: write()'s argument handling costs as much again. */
interface Utf8Writer {
  utf8Write(s: string, offset: number, length: number): number;
}

function writeString(t: number, s: string): void {
  const n = lengths[read++]!;
  out[at++] = t;
  writeVarint(n);
  if (n === s.length && n <= 32) {
    // As many bytes as UTF-16 units: all ASCII. A short one is copied faster here than by a native call.
    for (let i = 0; i < n; i++) out[at++] = s.charCodeAt(i);
  } else if (n > 0) at += (out as unknown as Utf8Writer).utf8Write(s, at, n);
}

function writeHeaderList(t: number, list: HeaderList, addSetCookies: boolean): void {
  for (let i = 0; i < list.length; i++) {
    const [key, value] = list[i]!;
    const kl = lengths[read]!;
    const vl = lengths[read + 1]!;
    const option = headerOptionSize(kl, vl);
    out[at++] = t;
    writeVarint(option);
    out[at++] = KEY;
    writeVarint(field(kl) + field(vl));
    writeString(KEY, key);
    writeString(VALUE, value);
    out[at++] = APPEND_ACTION;
    // Several Set-Cookie headers (a chunked session) must all reach the client, so on an allowed
    // request they are added side by side. Envoy drops added headers from a denied response and
    // keeps only overwrites there, so the gate puts at most one Set-Cookie on a denial.
    out[at++] = addSetCookies && key === "set-cookie" ? APPEND_IF_EXISTS_OR_ADD : OVERWRITE_IF_EXISTS_OR_ADD;
  }
}

function begin(size: number, status: Buffer, t: number, payload: number): void {
  out = Buffer.allocUnsafe(size);
  status.copy(out, 0);
  at = status.length;
  out[at++] = t;
  writeVarint(payload);
}

function encodeAllow(decision: Extract<Decision, { kind: "allow" }>): Buffer {
  const remove = decision.removeHeaders;
  const responseHeaders = decision.responseHeaders ?? [];
  let payload = headerListSize(decision.setHeaders);
  for (let i = 0; i < remove.length; i++) payload += field(measure(remove[i]!));
  payload += headerListSize(responseHeaders);
  // Only a query token source's route names these; every other answer writes the bytes it always did.
  const query = decision.removeQueryParameters;
  if (query !== undefined) for (let i = 0; i < query.length; i++) payload += field(measure(query[i]!));
  // Metadata without fields is not sent (protobufjs, the reference, would write an empty Value).
  const metadata = decision.metadata?.fields.length ? decision.metadata : undefined;
  // Measured once, after the query parameters (measure() records each length in order for the
  // writing pass, which writes them in the same order).
  const metadataBytes = metadata === undefined ? 0 : field(metadataSize(metadata));
  begin(STATUS_OK.length + field(payload) + metadataBytes, STATUS_OK, CHECK_RESPONSE_OK, payload);
  writeHeaderList(OK_HEADERS, decision.setHeaders, false);
  for (let i = 0; i < remove.length; i++) writeString(OK_HEADERS_TO_REMOVE, remove[i]!);
  writeHeaderList(OK_RESPONSE_HEADERS_TO_ADD, responseHeaders, true);
  if (query !== undefined) for (let i = 0; i < query.length; i++) writeString(OK_QUERY_PARAMETERS_TO_REMOVE, query[i]!);
  if (metadata !== undefined) writeMetadata(metadata);
  return out;
}

function encodeDeny(decision: Extract<Decision, { kind: "deny" }>): Buffer {
  const status =
    decision.status === 401
      ? STATUS_UNAUTHENTICATED
      : decision.status === 503
        ? STATUS_UNAVAILABLE
        : STATUS_PERMISSION_DENIED;
  const httpStatus = 1 + varintSize(decision.status);
  const payload = field(httpStatus) + headerListSize(decision.headers) + field(measure(decision.body));
  // As on an allow: after the denied response, measured after the body (measure() order is write order).
  const metadata = decision.metadata?.fields.length ? decision.metadata : undefined;
  const metadataBytes = metadata === undefined ? 0 : field(metadataSize(metadata));
  begin(status.length + field(payload) + metadataBytes, status, CHECK_RESPONSE_DENIED, payload);
  out[at++] = DENIED_STATUS;
  writeVarint(httpStatus);
  out[at++] = 0x08; // HttpStatus.code = 1, varint
  writeVarint(decision.status);
  writeHeaderList(OK_HEADERS, decision.headers, false);
  writeString(DENIED_BODY, decision.body);
  if (metadata !== undefined) writeMetadata(metadata);
  return out;
}

/** The CheckResponse bytes for `decision`, or null when one of its strings has no UTF-8 form. */
export function encodeCheckResponse(decision: Decision): Buffer | null {
  measured = 0;
  read = 0;
  try {
    return decision.kind === "allow" ? encodeAllow(decision) : encodeDeny(decision);
  } catch (fault) {
    if (fault === NO_UTF8_FORM) return null;
    throw fault;
  } finally {
    out = EMPTY;
  }
}
