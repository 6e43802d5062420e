// The gRPC request headers the node:http2 server reads itself: grpc-timeout by the spec's grammar
// (1-8 ASCII digits and one of H M S m u n) and the protobuf content types.
import { describe, expect, it } from "vitest";
import { isGrpcProtoContentType, parseGrpcTimeout } from "../../src/transport/grpcWire.ts";

describe("grpc-timeout", () => {
  it("reads every unit in milliseconds, rounding up to at least one", () => {
    expect(parseGrpcTimeout("2H")).toBe(7_200_000);
    expect(parseGrpcTimeout("3M")).toBe(180_000);
    expect(parseGrpcTimeout("1S")).toBe(1000);
    expect(parseGrpcTimeout("200m")).toBe(200);
    expect(parseGrpcTimeout("1500u")).toBe(2);
    expect(parseGrpcTimeout("1n")).toBe(1);
    expect(parseGrpcTimeout("0m")).toBe(1);
    expect(parseGrpcTimeout("99999999H")).toBe(99_999_999 * 3_600_000);
  });

  it("is absent when not sent and refused (null) when malformed", () => {
    expect(parseGrpcTimeout(undefined)).toBeUndefined();
    for (const bad of [
      "",
      "m",
      "10",
      "10s",
      "10 m",
      " 10m",
      "+1m",
      "-1m",
      "1.5S",
      "123456789m",
      "1mm",
      "\u0661m",
      "0x10m",
    ]) {
      expect(parseGrpcTimeout(bad), bad).toBeNull();
    }
    expect(parseGrpcTimeout(["1S", "2S"])).toBeNull();
  });
});

describe("gRPC content types", () => {
  it("accepts application/grpc and +proto, in any case and with parameters", () => {
    for (const ok of [
      "application/grpc",
      "application/grpc+proto",
      "Application/GRPC",
      "application/grpc; charset=x",
    ]) {
      expect(isGrpcProtoContentType(ok), ok).toBe(true);
    }
  });

  it("refuses other types and a missing one", () => {
    for (const bad of ["application/grpc+json", "application/json", "application/grpcx", "text/plain", ""]) {
      expect(isGrpcProtoContentType(bad), bad).toBe(false);
    }
    expect(isGrpcProtoContentType(undefined)).toBe(false);
  });
});
