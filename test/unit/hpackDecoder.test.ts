// The node:net gRPC server's HPACK decoder against RFC 7541's own examples (Appendix C: the same
// requests without and with Huffman coding, sharing one dynamic table), and the codings it must refuse:
// EOS or bad padding in a Huffman string, an index past the table, a table size past the one announced,
// a size update after the first field, truncated integers and strings.
import { describe, expect, it } from "vitest";
import { decodeHuffman, HuffmanError } from "../../src/transport/decodeHuffman.ts";
import { CompressionError, HEADER_TABLE_SIZE, HpackDecoder } from "../../src/transport/HpackDecoder.ts";

function decodeAll(decoder: HpackDecoder, hex: string): Array<[string, string]> {
  const fields: Array<[string, string]> = [];
  const block = Buffer.from(hex, "hex");
  decoder.decode(block, 0, block.length, false, (name, value) => fields.push([name, value]));
  return fields;
}

const FIRST = [
  [":method", "GET"],
  [":scheme", "http"],
  [":path", "/"],
  [":authority", "www.example.com"],
];
const SECOND = [...FIRST, ["cache-control", "no-cache"]];
const THIRD = [
  [":method", "GET"],
  [":scheme", "https"],
  [":path", "/index.html"],
  [":authority", "www.example.com"],
  ["custom-key", "custom-value"],
];

describe("the HPACK decoder", () => {
  it("decodes RFC 7541 C.3's requests without Huffman coding, one dynamic table across them", () => {
    const decoder = new HpackDecoder(64 * 1024);
    expect(decodeAll(decoder, "828684410f7777772e6578616d706c652e636f6d")).toEqual(FIRST);
    expect(decodeAll(decoder, "828684be58086e6f2d6361636865")).toEqual(SECOND);
    expect(decodeAll(decoder, "828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565")).toEqual(THIRD);
  });

  it("decodes RFC 7541 C.4's requests with Huffman coding, one dynamic table across them", () => {
    const decoder = new HpackDecoder(64 * 1024);
    expect(decodeAll(decoder, "828684418cf1e3c2e5f23a6ba0ab90f4ff")).toEqual(FIRST);
    expect(decodeAll(decoder, "828684be5886a8eb10649cbf")).toEqual(SECOND);
    expect(decodeAll(decoder, "828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf")).toEqual(THIRD);
  });

  it("reads the method and path a call needs, and marks a block without :path malformed", () => {
    const decoder = new HpackDecoder(64 * 1024);
    // POST, http, :path "test" and :authority "x" (literals with indexed names)
    const ok = Buffer.from("8386" + "44" + "0474657374" + "41" + "0178", "hex");
    expect(decoder.decode(ok, 0, ok.length)).toMatchObject({ method: "POST", path: "test", malformed: undefined });
    const noPath = Buffer.from("8386", "hex");
    expect(decoder.decode(noPath, 0, noPath.length).malformed).toBe("missing :method, :scheme or :path");
  });

  it("marks upper-case names, connection-specific fields and pseudo-headers after regular ones malformed, and keeps decoding", () => {
    const decoder = new HpackDecoder(64 * 1024);
    const literal = (name: string, value: string) =>
      Buffer.concat([
        Buffer.from([0x40, name.length]),
        Buffer.from(name),
        Buffer.from([value.length]),
        Buffer.from(value),
      ]);
    const cases: Array<[Buffer, string]> = [
      [Buffer.concat([Buffer.from("8384", "hex"), literal("X-Up", "1")]), "header name with upper-case letters"],
      [
        Buffer.concat([Buffer.from("8384", "hex"), literal("connection", "close")]),
        "connection-specific header connection",
      ],
      [
        Buffer.concat([Buffer.from("83", "hex"), literal("a", "1"), Buffer.from("84", "hex")]),
        "pseudo-header after a regular header",
      ],
    ];
    for (const [block, reason] of cases) expect(decoder.decode(block, 0, block.length).malformed).toBe(reason);
    // The literals above were indexed all the same: the table stayed in step (index 62 is the newest, "a: 1").
    const fields: Array<[string, string]> = [];
    const next = Buffer.from("8384be", "hex");
    decoder.decode(next, 0, next.length, false, (name, value) => fields.push([name, value]));
    expect(fields[2]).toEqual(["a", "1"]);
  });

  it("keeps a field's invalid characters with its dynamic table entry: a block that indexes it again is malformed too", () => {
    const decoder = new HpackDecoder(64 * 1024);
    // POST, http, :path "test", :authority "x", then "x-a: a\r" with incremental indexing (table index 62).
    const request = "8386" + "04" + "0474657374" + "01" + "0178"; // literals without indexing
    const first = Buffer.from(request + "40" + "03782d61" + "02610d", "hex");
    expect(decoder.decode(first, 0, first.length).malformed).toBe("invalid value of x-a");
    const again = Buffer.from(request + "be", "hex");
    expect(decoder.decode(again, 0, again.length).malformed).toBe("invalid value of x-a");
    // Trailers are held to the same rules, and may carry no pseudo-header.
    const trailers = Buffer.from("be", "hex");
    expect(decoder.decode(trailers, 0, trailers.length, true).malformed).toBe("invalid value of x-a");
    const pseudo = Buffer.from("84", "hex");
    expect(decoder.decode(pseudo, 0, pseudo.length, true).malformed).toBe("pseudo-header :path in trailers");
    const fine = Buffer.from("0003782d62017a", "hex"); // x-b: z
    expect(decoder.decode(fine, 0, fine.length, true).malformed).toBeUndefined();
  });

  it("refuses an index past the table, a table size past the announced one and a size update after a field", () => {
    const decoder = new HpackDecoder(64 * 1024);
    const refuse = (hex: string) => {
      const block = Buffer.from(hex, "hex");
      return () => decoder.decode(block, 0, block.length);
    };
    expect(refuse("80")).toThrow(CompressionError); // index 0
    expect(refuse("be")).toThrow(CompressionError); // index 62 of an empty dynamic table
    expect(refuse("3fe21f")).toThrow(CompressionError); // size update to 4096 + 1
    expect(refuse("823f00")).toThrow(CompressionError); // a size update after a field
    expect(refuse("3fe11f82")).not.toThrow(); // a size update to exactly HEADER_TABLE_SIZE first is fine
    expect(HEADER_TABLE_SIZE).toBe(4096);
  });

  it("refuses truncated integers and strings, and integers past 2^31", () => {
    const decoder = new HpackDecoder(64 * 1024);
    for (const hex of ["ff", "ffff", "4005", "400161", "ffffffffffff0f"]) {
      const block = Buffer.from(hex, "hex");
      expect(() => decoder.decode(block, 0, block.length), hex).toThrow(CompressionError);
    }
  });

  it("refuses an integer padded with zero continuation octets, so a table size update cannot lift the table's bound", () => {
    // 150 octets of 0x80 carry no value but shift past 2^1024: read naively the integer is NaN, a size
    // update to NaN passes the 4,096 check, and no entry is ever evicted again.
    const overlong = Buffer.concat([Buffer.from([0x3f]), Buffer.alloc(150, 0x80), Buffer.from([0x00])]);
    const entry = Buffer.concat([Buffer.from([0x40, 0x01, 0x61, 0x7f, 0xe9, 0x06]), Buffer.alloc(1000, 0x62)]);
    const block = Buffer.concat([overlong, entry, entry, entry, entry, entry, entry]);
    expect(() => new HpackDecoder(64 * 1024).decode(block, 0, block.length)).toThrow(CompressionError);
    // A size update to 31 in five continuation octets is as far as any value up to 2^31 - 1 needs; six are refused.
    const decode = (hex: string) => () =>
      new HpackDecoder(64 * 1024).decode(Buffer.from(hex, "hex"), 0, hex.length / 2);
    expect(decode("3f808080808000")).toThrow(CompressionError);
    expect(decode("3f8080808000")).not.toThrow();
  });

  it("marks a header list past its bound malformed without losing the table", () => {
    const decoder = new HpackDecoder(100);
    const big = Buffer.concat([Buffer.from("8384", "hex"), Buffer.from([0x40, 1, 0x61, 100]), Buffer.alloc(100, 0x62)]);
    expect(decoder.decode(big, 0, big.length).malformed).toBe("header list too large");
  });
});

describe("HPACK's Huffman decoding", () => {
  it("decodes RFC 7541's examples", () => {
    const decode = (hex: string) => decodeHuffman(Buffer.from(hex, "hex"), 0, hex.length / 2);
    expect(decode("f1e3c2e5f23a6ba0ab90f4ff")).toBe("www.example.com");
    expect(decode("a8eb10649cbf")).toBe("no-cache");
    expect(decode("25a849e95ba97d7f")).toBe("custom-key");
  });

  it("refuses padding longer than 7 bits, padding that is not all ones, and EOS inside a string", () => {
    const decode = (bytes: number[]) => () => decodeHuffman(Buffer.from(bytes), 0, bytes.length);
    expect(decode([0xff])).toThrow(HuffmanError); // 8 bits of padding
    expect(decode([0x00])).toThrow(HuffmanError); // '0' (5 bits) then 3 bits of zeros
    expect(decode([0xff, 0xff, 0xff, 0xfc])).toThrow(HuffmanError); // EOS (30 ones) then two more bits
    expect(decode([0x07])).not.toThrow(); // '0' then '111' padding: valid
  });
});
