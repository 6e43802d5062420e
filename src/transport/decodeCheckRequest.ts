// The ext_authz CheckRequest wire decoder: reads the protobuf bytes straight into an AccessRequest,
// decoding only attributes.request.http (id, method, path, host, scheme, headers or header_map),
// attributes.source.certificate (the client's, with include_peer_certificate), the IP of
// attributes.source.address (the downstream peer) and attributes.tls_session.sni (with
// include_tls_session), skipping everything else unread. Stricter than protobufjs, never looser: anything Envoy cannot send
// (a truncated or over-long varint, a length past its message, a known field with another wire type,
// field 0, an unmatched group, one of our messages twice, a header named twice in the map form, a
// header name or method that is not ASCII, more than MAX_CHECK_HEADERS headers, more than
// MAX_CHECK_REQUEST_BYTES) is refused, and refused means denied. The differential test
// (test/unit/checkCodecProperty.test.ts) holds it to toAccessRequest. (About 370 lines, over the
// ~350 habit: one pass with one module-level cursor reads better whole than split across files.)
import type { AccessRequest } from "../core/AccessRequest.ts";
import { assembleAccessRequest } from "./assembleAccessRequest.ts";

/** The same bound as the gRPC server's grpc.max_receive_message_length, kept here in case that one moves. */
export const MAX_CHECK_REQUEST_BYTES = 1024 * 1024;
/** Ten times Envoy's default max_headers_count (100), pseudo-headers included. */
export const MAX_CHECK_HEADERS = 1000;
/** Groups (a proto2 relic no Envoy message has) may nest this deep inside a skipped field. */
const MAX_GROUP_DEPTH = 16;

/** Why a CheckRequest was not decoded; the handler answers it with an explicit denial. */
export class CheckRequestRefused {
  readonly reason: string;
  constructor(reason: string) {
    this.reason = reason;
  }
}

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;
const WIRE_START_GROUP = 3;
const WIRE_END_GROUP = 4;
const WIRE_FIXED32 = 5;

// One decode runs synchronously from start to end, so its cursor lives here instead of in an object
// allocated per call.
const EMPTY = Buffer.alloc(0);
let buf: Buffer = EMPTY;
let pos = 0;
let id = "";
let method = "";
let path = "";
let host = "";
let scheme = "";
let certificate = "";
let sourceAddress = "";
let sni = "";
let mapHeaders: Map<string, string> | null = null;
let rawHeaders: Map<string, string> | null = null;
let headerCount = 0;

function refuse(reason: string): never {
  throw new CheckRequestRefused(reason);
}

/** A varint of at most 10 bytes, all before `end`; exact up to 2^53, which covers every use here. */
function varint(end: number): number {
  if (pos >= end) refuse("truncated varint");
  let byte = buf[pos++] as number;
  if (byte < 0x80) return byte;
  let value = byte & 0x7f;
  let scale = 0x80;
  for (let i = 1; i < 10; i++) {
    if (pos >= end) refuse("truncated varint");
    byte = buf[pos++] as number;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return value;
    scale *= 0x80;
  }
  return refuse("varint longer than 10 bytes");
}

function tag(end: number): number {
  const t = varint(end);
  if (t > 0xffffffff) refuse("tag out of range");
  if (t >>> 3 === 0) refuse("field number 0");
  return t;
}

/** The end of a length-delimited field that starts at the cursor; it must lie within `end`. */
function delimitedEnd(end: number): number {
  const length = varint(end);
  if (length > end - pos) refuse("length past the end of its message");
  return pos + length;
}

/** Buffer's own slicers, as protobufjs calls them: toString's argument handling costs as much again. */
interface BufferSlicers {
  utf8Slice(start: number, end: number): string;
  latin1Slice(start: number, end: number): string;
}

function string(end: number): string {
  const stop = delimitedEnd(end);
  const start = pos;
  pos = stop;
  return start === stop ? "" : (buf as unknown as BufferSlicers).utf8Slice(start, stop);
}

// Header names repeat from request to request (":authority", "user-agent", "x-request-id"): a name
// seen before is read from this table instead of being decoded and lower-cased again. Only short,
// printable, lower-case ASCII names go in, and only MAX_NAMES of them, so it stays small whatever
// names a client sends; a name is matched byte for byte, never by its hash alone.
const MAX_NAMES = 512;
const MAX_NAME_BYTES = 40;
const names = new Map<number, string>();

/** The lower-cased header name whose bytes start at the cursor (a string field), decoded or from the table. */
function headerName(end: number): string {
  const stop = delimitedEnd(end);
  const start = pos;
  pos = stop;
  const length = stop - start;
  if (length === 0) return "";
  let hash = length;
  let plain = true;
  for (let i = start; i < stop; i++) {
    const byte = buf[i] as number;
    // HTTP lower-cases names as ASCII; toLowerCase() maps some non-ASCII letters to ASCII ("\u212A"
    // KELVIN SIGN to "k"), which would read a header the upstream does not see under that name.
    // Envoy's codecs refuse such names, so one here was not a client's header as Envoy meant it.
    if (byte > 0x7f) refuse("a header name that is not ASCII");
    if (byte < 0x21 || byte > 0x7e || (byte >= 0x41 && byte <= 0x5a)) plain = false;
    hash = (Math.imul(hash, 31) + byte) | 0;
  }
  if (!plain || length > MAX_NAME_BYTES)
    return (buf as unknown as BufferSlicers).latin1Slice(start, stop).toLowerCase();
  const known = names.get(hash);
  if (known !== undefined && known.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) if (known.charCodeAt(i) !== buf[start + i]) same = false;
    if (same) return known;
  }
  const name = (buf as unknown as BufferSlicers).latin1Slice(start, stop);
  if (known === undefined && names.size < MAX_NAMES) names.set(hash, name);
  return name;
}

function skip(t: number, end: number, depth: number): void {
  switch (t & 7) {
    case WIRE_VARINT:
      varint(end);
      return;
    case WIRE_FIXED64:
      if (end - pos < 8) refuse("truncated fixed64");
      pos += 8;
      return;
    case WIRE_LENGTH:
      pos = delimitedEnd(end);
      return;
    case WIRE_FIXED32:
      if (end - pos < 4) refuse("truncated fixed32");
      pos += 4;
      return;
    case WIRE_START_GROUP:
      skipGroup(t >>> 3, end, depth + 1);
      return;
    case WIRE_END_GROUP:
      refuse("end of a group that was not started");
    default:
      refuse("invalid wire type");
  }
}

function skipGroup(field: number, end: number, depth: number): void {
  if (depth > MAX_GROUP_DEPTH) refuse("groups nested too deep");
  for (;;) {
    const t = tag(end);
    if ((t & 7) === WIRE_END_GROUP) {
      if (t >>> 3 !== field) refuse("group ended by another field");
      return;
    }
    skip(t, end, depth);
  }
}

/** A length-delimited field we descend into: the wire type must be 2, and (singular) only once. */
function enter(t: number, end: number, seen: boolean): number {
  if ((t & 7) !== WIRE_LENGTH) refuse("a known field with another wire type");
  if (seen) refuse("a singular message given twice");
  return delimitedEnd(end);
}

function stringField(t: number, end: number): string {
  if ((t & 7) !== WIRE_LENGTH) refuse("a known field with another wire type");
  return string(end);
}

function nameField(t: number, end: number): string {
  if ((t & 7) !== WIRE_LENGTH) refuse("a known field with another wire type");
  return headerName(end);
}

function countHeader(): void {
  if (++headerCount > MAX_CHECK_HEADERS) refuse("too many headers");
}

/** One entry of the `headers` map (key 1, value 2). */
function mapEntry(end: number): void {
  let name = "";
  let value = "";
  while (pos < end) {
    const t = tag(end);
    const field = t >>> 3;
    if (field === 1) name = nameField(t, end);
    else if (field === 2) value = stringField(t, end);
    else skip(t, end, 0);
  }
  countHeader();
  mapHeaders ??= new Map();
  // Envoy joins a repeated header into one entry; a name twice (in any case) has no single meaning.
  if (mapHeaders.has(name)) refuse("a header named twice in the headers map");
  mapHeaders.set(name, value);
}

/** One HeaderValue of header_map (key 1, value 2, raw_value 3); a repeated name is joined with ",". */
function headerValue(end: number): void {
  let name = "";
  let value = "";
  let rawStart = 0;
  let rawEnd = 0;
  while (pos < end) {
    const t = tag(end);
    const field = t >>> 3;
    if (field === 1) name = nameField(t, end);
    else if (field === 2) value = stringField(t, end);
    else if (field === 3) {
      rawEnd = enter(t, end, false);
      rawStart = pos;
      pos = rawEnd;
    } else skip(t, end, 0);
  }
  countHeader();
  rawHeaders ??= new Map();
  if (name === "") return;
  if (rawEnd > rawStart) value = (buf as unknown as BufferSlicers).latin1Slice(rawStart, rawEnd);
  const prior = rawHeaders.get(name);
  rawHeaders.set(name, prior === undefined ? value : `${prior},${value}`);
}

function headerMap(end: number): void {
  while (pos < end) {
    const t = tag(end);
    if (t >>> 3 === 1) headerValue(enter(t, end, false));
    else skip(t, end, 0);
  }
}

function httpRequest(end: number): void {
  let headerMapSeen = false;
  while (pos < end) {
    const t = tag(end);
    switch (t >>> 3) {
      case 1:
        id = stringField(t, end);
        break;
      case 2:
        method = stringField(t, end);
        break;
      case 3:
        mapEntry(enter(t, end, false));
        break;
      case 4:
        path = stringField(t, end);
        break;
      case 5:
        host = stringField(t, end);
        break;
      case 6:
        scheme = stringField(t, end);
        break;
      case 13:
        headerMap(enter(t, end, headerMapSeen));
        headerMapSeen = true;
        break;
      default:
        skip(t, end, 0);
    }
  }
}

/** Descends into field `field` of a message (AttributeContext.request, Request.http, CheckRequest.attributes). */
function only(field: number, end: number, inner: (end: number) => void): void {
  let seen = false;
  while (pos < end) {
    const t = tag(end);
    if (t >>> 3 === field) {
      inner(enter(t, end, seen));
      seen = true;
    } else skip(t, end, 0);
  }
}

const httpOfRequest = (end: number) => only(2, end, httpRequest);

/** envoy.config.core.v3.SocketAddress: its address (field 2); a restated one counts last. */
function socketAddress(end: number): void {
  while (pos < end) {
    const t = tag(end);
    if (t >>> 3 === 2) sourceAddress = stringField(t, end);
    else skip(t, end, 0);
  }
}

/** envoy.config.core.v3.Address: its socket_address (1), at most once; a pipe leaves the address "". */
const peerAddress = (end: number) => only(1, end, socketAddress);

/**
 * AttributeContext.Peer (the source): its address (field 1, at most once) and certificate (field 5;
 * a restated one counts last, as protobuf reads it).
 */
function peer(end: number): void {
  let addressSeen = false;
  while (pos < end) {
    const t = tag(end);
    const field = t >>> 3;
    if (field === 5) certificate = stringField(t, end);
    else if (field === 1) {
      peerAddress(enter(t, end, addressSeen));
      addressSeen = true;
    } else skip(t, end, 0);
  }
}

/** AttributeContext.TLSSession: its sni (field 1); a restated one counts last. */
function tlsSession(end: number): void {
  while (pos < end) {
    const t = tag(end);
    if (t >>> 3 === 1) sni = stringField(t, end);
    else skip(t, end, 0);
  }
}

/** AttributeContext: source (1), request (4) and tls_session (12), each at most once. */
function attributes(end: number): void {
  let sourceSeen = false;
  let requestSeen = false;
  let tlsSeen = false;
  while (pos < end) {
    const t = tag(end);
    const field = t >>> 3;
    if (field === 1) {
      peer(enter(t, end, sourceSeen));
      sourceSeen = true;
    } else if (field === 4) {
      httpOfRequest(enter(t, end, requestSeen));
      requestSeen = true;
    } else if (field === 12) {
      tlsSession(enter(t, end, tlsSeen));
      tlsSeen = true;
    } else skip(t, end, 0);
  }
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** CheckRequest bytes → AccessRequest, or why they were refused. Never throws. */
export function decodeCheckRequest(bytes: Buffer): AccessRequest | CheckRequestRefused {
  if (bytes.length > MAX_CHECK_REQUEST_BYTES) return new CheckRequestRefused("message too large");
  buf = bytes;
  pos = 0;
  id = method = path = host = scheme = certificate = sourceAddress = sni = "";
  mapHeaders = rawHeaders = null;
  headerCount = 0;
  try {
    only(1, bytes.length, attributes);
    // As the reference does: header_map when it has entries, else the headers map.
    const headers = rawHeaders ?? mapHeaders ?? new Map<string, string>();
    // The method is upper-cased for route rules, and toUpperCase() maps "\u017F" (LONG S) to an ASCII
    // S: "PO\u017FT" would meet POST's rules while the upstream gets another method. Envoy refuses it.
    if (!isAscii(method || headers.get(":method") || "")) refuse("a method that is not ASCII");
    return assembleAccessRequest({ id, method, path, host, scheme }, headers, certificate, sourceAddress, sni);
  } catch (fault) {
    return fault instanceof CheckRequestRefused ? fault : new CheckRequestRefused("unexpected fault decoding");
  } finally {
    // Neither the request's bytes nor its headers stay reachable from here after the call.
    buf = EMPTY;
    mapHeaders = rawHeaders = null;
    certificate = sourceAddress = sni = "";
  }
}
