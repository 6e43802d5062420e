// One connection's HPACK decoder (RFC 7541): the dynamic table, bounded by the size this server
// announces, and the header fields of each block read into the few a gRPC call needs. Any coding error
// is a COMPRESSION_ERROR for the whole connection (the table would be out of step); a block that is
// well coded but not a valid request (bad pseudo-headers, connection-specific fields, too large) is
// decoded to the end, keeping the table in step, and reported as malformed for its stream alone.
import { decodeHuffman, HuffmanError } from "./decodeHuffman.ts";
import { HPACK_STATIC_TABLE } from "./hpackStaticTable.ts";
import {
  endRequestHeaders,
  fieldCharsOk,
  newRequestHeaders,
  readRequestField,
  readTrailerField,
  type RequestHeaders,
} from "./RequestHeaders.ts";

/** SETTINGS_HEADER_TABLE_SIZE this server announces (HTTP/2's default): the peer's table updates may not pass it. */
export const HEADER_TABLE_SIZE = 4096;

export class CompressionError extends Error {}

export class HpackDecoder {
  /**
   * Newest first; sizes per RFC 7541 §4.1 (name + value + 32). Each entry keeps whether its characters
   * are valid (fieldCharsOk), so the indexed fields a steady peer sends are not scanned again.
   */
  readonly #table: Array<readonly [string, string, boolean]> = [];
  #size = 0;
  #maxSize = HEADER_TABLE_SIZE;
  readonly #maxListSize: number;

  constructor(maxHeaderListSize: number) {
    this.#maxListSize = maxHeaderListSize;
  }

  /**
   * Decodes one whole header block (HEADERS + CONTINUATIONs), a request's or (`trailers`) the trailers
   * after its DATA; throws CompressionError. `onField` sees every field as decoded (tests hold the
   * decoder to RFC 7541's examples with it).
   */
  decode(
    block: Buffer,
    start: number,
    end: number,
    trailers = false,
    onField?: (name: string, value: string) => void,
  ): RequestHeaders {
    const out = newRequestHeaders();
    let pos = start;
    let listSize = 0;
    let fieldsSeen = false;
    try {
      while (pos < end) {
        const first = block[pos]!;
        let name: string;
        let value: string;
        let charsOk: boolean;
        if (first & 0x80) {
          // Indexed field.
          const [index, next] = readInteger(block, pos, end, 7);
          pos = next;
          [name, value, charsOk = true] = this.#entry(index);
        } else if ((first & 0xe0) === 0x20) {
          // A dynamic table size update: only before the block's first field (RFC 7541 §4.2).
          if (fieldsSeen) throw new CompressionError("dynamic table size update after a header field");
          const [size, next] = readInteger(block, pos, end, 5);
          pos = next;
          if (size > HEADER_TABLE_SIZE)
            throw new CompressionError("dynamic table size update past SETTINGS_HEADER_TABLE_SIZE");
          this.#maxSize = size;
          this.#evict(0);
          continue;
        } else {
          // A literal: with incremental indexing (01), without (0000) or never indexed (0001).
          const indexing = (first & 0xc0) === 0x40;
          const [index, afterIndex] = readInteger(block, pos, end, indexing ? 6 : 4);
          pos = afterIndex;
          if (index === 0) [name, pos] = readString(block, pos, end);
          else name = this.#entry(index)[0];
          [value, pos] = readString(block, pos, end);
          charsOk = fieldCharsOk(name, value);
          if (indexing) this.#add(name, value, charsOk);
        }
        fieldsSeen = true;
        onField?.(name, value);
        listSize += name.length + value.length + 32;
        if (out.malformed !== undefined) continue; // keep decoding: the table must stay in step
        if (listSize > this.#maxListSize) out.malformed = "header list too large";
        else if (trailers) readTrailerField(out, name, value, charsOk);
        else readRequestField(out, name, value, charsOk);
      }
    } catch (error) {
      if (error instanceof HuffmanError) throw new CompressionError(error.message);
      throw error;
    }
    if (!trailers) endRequestHeaders(out);
    return out;
  }

  /** A static entry (all valid: no third member) or a dynamic one. */
  #entry(index: number): readonly [string, string, boolean?] {
    if (index === 0) throw new CompressionError("header index 0");
    if (index <= HPACK_STATIC_TABLE.length) return HPACK_STATIC_TABLE[index - 1]!;
    const entry = this.#table[index - HPACK_STATIC_TABLE.length - 1];
    if (entry === undefined) throw new CompressionError(`header index ${index} past the table`);
    return entry;
  }

  #add(name: string, value: string, charsOk: boolean): void {
    const size = name.length + value.length + 32;
    // An entry larger than the whole table empties it and is not added (RFC 7541 §4.4).
    this.#evict(size);
    if (size > this.#maxSize) return;
    this.#table.unshift([name, value, charsOk]);
    this.#size += size;
  }

  /** Drops the oldest entries until `room` more bytes fit. */
  #evict(room: number): void {
    while (this.#size + room > this.#maxSize && this.#table.length > 0) {
      const [name, value] = this.#table.pop()!;
      this.#size -= name.length + value.length + 32;
    }
  }
}

/**
 * An N-bit prefix integer (RFC 7541 §5.1) and the position after it; at most 2^31 - 1 in at most five
 * continuation octets. Octets of zeros add nothing but shift: unbounded, they would shift past 2^1024
 * and turn the value into NaN, which passes every comparison (a table size of NaN evicts nothing).
 */
export function readInteger(buf: Buffer, pos: number, end: number, prefixBits: number): [number, number] {
  const max = (1 << prefixBits) - 1;
  let value = buf[pos]! & max;
  pos++;
  if (value < max) return [value, pos];
  let shift = 0;
  for (;;) {
    if (pos >= end) throw new CompressionError("truncated integer");
    if (shift > 28) throw new CompressionError("integer longer than five continuation octets");
    const byte = buf[pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if (value > 0x7fffffff) throw new CompressionError("integer too large");
    if ((byte & 0x80) === 0) return [value, pos];
    shift += 7;
  }
}

/** A string literal (RFC 7541 §5.2), Huffman-coded or raw (latin1: header bytes stay bytes), and the position after it. */
function readString(buf: Buffer, pos: number, end: number): [string, number] {
  if (pos >= end) throw new CompressionError("truncated string");
  const huffman = (buf[pos]! & 0x80) !== 0;
  const [length, start] = readInteger(buf, pos, end, 7);
  const stop = start + length;
  if (stop > end) throw new CompressionError("string past the end of the block");
  return [huffman ? decodeHuffman(buf, start, stop) : buf.toString("latin1", start, stop), stop];
}
