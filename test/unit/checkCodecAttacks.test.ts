// Crafted CheckRequests against the Check wire decoder, each named after the rule it must keep: what
// a client controls (header names and values, path, host) is read as Envoy meant it, or refused, and
// refused means denied; never a header the upstream does not get under that name.
import { describe, expect, it } from "vitest";
import type { AccessRequest } from "../../src/core/AccessRequest.ts";
import { extractBearerToken } from "../../src/core/extractBearerToken.ts";
import { CheckRequestRefused, decodeCheckRequest } from "../../src/transport/decodeCheckRequest.ts";
import { bytesField, concatBytes, stringField } from "../harness/protobufWire.ts";

/** CheckRequest { attributes { request { http { <http> } } } } around raw HttpRequest bytes. */
const aroundHttp = (...http: Uint8Array[]) => bytesField(1, bytesField(4, bytesField(2, concatBytes(http))));
const decode = (bytes: Uint8Array) => decodeCheckRequest(Buffer.from(bytes));
const decoded = (bytes: Uint8Array): AccessRequest => {
  const request = decode(bytes);
  if (request instanceof CheckRequestRefused) throw new Error(`refused: ${request.reason}`);
  return request;
};
const mapEntry = (name: string | Buffer, value: string) =>
  bytesField(3, concatBytes([bytesField(1, Buffer.from(name)), stringField(2, value)]));
const headerMap = (...values: Uint8Array[]) => bytesField(13, concatBytes(values.map((v) => bytesField(1, v))));
const raw = (name: string | Buffer, value: Buffer) =>
  concatBytes([bytesField(1, Buffer.from(name)), bytesField(3, value)]);

describe("crafted CheckRequests against the wire decoder", () => {
  it("header name case: a name only Unicode lower-cases to an ASCII one (KELVIN SIGN) is refused in both forms", () => {
    for (const name of ["coo\u212Aie", "x-api-\u212Aey", "Authori\u017Aation"]) {
      expect(decode(aroundHttp(mapEntry(name, "v")))).toBeInstanceOf(CheckRequestRefused);
      expect(decode(aroundHttp(headerMap(raw(name, Buffer.from("v")))))).toBeInstanceOf(CheckRequestRefused);
    }
    // A name of more than the table's 40 bytes is held to the same rule.
    expect(decode(aroundHttp(mapEntry(`x-${"a".repeat(60)}\u212A`, "v")))).toBeInstanceOf(CheckRequestRefused);
    expect(decoded(aroundHttp(mapEntry("X-Long-" + "A".repeat(60), "v"))).headers.get(`x-long-${"a".repeat(60)}`)).toBe(
      "v",
    );
  });

  it("duplicate headers: header_map joins a repeated Authorization with ',' and the join is no bearer token", () => {
    const request = decoded(
      aroundHttp(
        headerMap(
          raw("authorization", Buffer.from("Bearer aaa.bbb.ccc")),
          raw("Authorization", Buffer.from("Bearer x.y.z")),
        ),
      ),
    );
    expect(request.headers.get("authorization")).toBe("Bearer aaa.bbb.ccc,Bearer x.y.z");
    expect(extractBearerToken(request.headers.get("authorization")).kind).toBe("malformed");
    const basicFirst = decoded(
      aroundHttp(
        headerMap(raw("authorization", Buffer.from("Basic eDp5")), raw("authorization", Buffer.from("Bearer a.b.c"))),
      ),
    );
    expect(extractBearerToken(basicFirst.headers.get("authorization")).kind).not.toBe("token");
  });

  it("raw values: bytes past ASCII are one character each, NUL and CR-LF stay inside the one value", () => {
    const value = Buffer.from([0x61, 0xe9, 0xff, 0x00, 0x0d, 0x0a, 0x78, 0x2d, 0x61, 0x3a, 0x20, 0x31]);
    const request = decoded(aroundHttp(headerMap(raw("x-note", value))));
    expect(request.headers.get("x-note")).toBe(value.toString("latin1"));
    expect(request.headers.get("x-note")!.length).toBe(value.length);
    expect([...request.headers.keys()]).toEqual(["x-note"]);
  });

  it("raw_value and value both present: raw_value is read, as Envoy's encode_raw_headers means it", () => {
    const both = concatBytes([
      bytesField(1, Buffer.from("authorization")),
      stringField(2, "Bearer from-value"),
      bytesField(3, Buffer.from("Bearer from-raw")),
    ]);
    expect(decoded(aroundHttp(headerMap(both))).headers.get("authorization")).toBe("Bearer from-raw");
  });

  it(":authority vs host: the host field wins over a client's :authority header", () => {
    const request = decoded(aroundHttp(stringField(5, "app.example.com"), mapEntry(":authority", "admin.example.com")));
    expect(request.host).toBe("app.example.com");
  });

  it("field order and repetition: the last path and host on the wire count, as protobuf's merge keeps them", () => {
    const request = decoded(
      aroundHttp(
        stringField(4, "/public"),
        stringField(5, "a.example"),
        stringField(4, "/admin"),
        stringField(5, "b.example"),
      ),
    );
    expect(request.path).toBe("/admin");
    expect(request.host).toBe("b.example");
  });

  it("method case: a method only Unicode upper-cases to an ASCII one (LONG S, the st ligature) is refused", () => {
    for (const method of ["PO\u017FT", "po\uFB06", "OPTION\u017F", "G\u00c9T"]) {
      expect(decode(aroundHttp(stringField(2, method)))).toBeInstanceOf(CheckRequestRefused);
      expect(decode(aroundHttp(mapEntry(":method", method)))).toBeInstanceOf(CheckRequestRefused);
    }
    expect(decoded(aroundHttp(stringField(2, "post"))).method).toBe("POST");
  });

  it("path with query: the path field is kept whole for the gate's normalisation", () => {
    expect(decoded(aroundHttp(stringField(4, "/api/x?next=/../admin"))).path).toBe("/api/x?next=/../admin");
  });
});
