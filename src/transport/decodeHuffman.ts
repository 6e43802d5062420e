// HPACK's Huffman decoding (RFC 7541 §5.2): a binary tree of the 256 byte codes walked bit by bit, in
// flat typed arrays built once. Strict as the RFC asks: the EOS symbol inside a string, padding longer
// than 7 bits, or padding that is not the most significant bits of EOS (all ones) is an error.
import { HUFFMAN_CODES } from "./hpackHuffmanCodes.ts";

/** Node i's children (0: none) and symbol (-1: an inner node); the root is node 0. */
const MAX_NODES = 512;
const zero = new Int16Array(MAX_NODES);
const one = new Int16Array(MAX_NODES);
const symbol = new Int16Array(MAX_NODES).fill(-1);
let nodes = 1;

function insert(sym: number, code: number, bits: number): void {
  let node = 0;
  for (let i = bits - 1; i >= 0; i--) {
    const branch = (code >>> i) & 1 ? one : zero;
    if (branch[node] === 0) branch[node] = nodes++;
    node = branch[node]!;
  }
  symbol[node] = sym;
}
for (let sym = 0; sym < 256; sym++) insert(sym, HUFFMAN_CODES[2 * sym]!, HUFFMAN_CODES[2 * sym + 1]!);
// EOS, so that a string carrying it is told from one whose bits lead nowhere.
const EOS = 256;
insert(EOS, 0x3fffffff, 30);

export class HuffmanError extends Error {}

/** The latin1 string the Huffman-coded bytes buf[start, end) stand for; throws HuffmanError when they are not a valid coding. */
export function decodeHuffman(buf: Buffer, start: number, end: number): string {
  let out = "";
  let node = 0;
  // Bits read since the last whole symbol, and whether all of them were ones (the valid padding).
  let pending = 0;
  let allOnes = true;
  for (let i = start; i < end; i++) {
    const byte = buf[i]!;
    for (let b = 7; b >= 0; b--) {
      const bit = (byte >> b) & 1;
      node = bit ? one[node]! : zero[node]!;
      pending++;
      allOnes &&= bit === 1;
      const sym = symbol[node]!;
      if (sym === -1) continue;
      if (sym === EOS) throw new HuffmanError("EOS inside a Huffman-coded string");
      out += String.fromCharCode(sym);
      node = 0;
      pending = 0;
      allOnes = true;
    }
  }
  if (pending > 7 || !allOnes) throw new HuffmanError("invalid Huffman padding");
  return out;
}
