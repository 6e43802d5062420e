// `portcullis explain` never echoes a token given in a route's query token source: its value is
// replaced in the request line, whatever route the URL matches, and other parameters stay as given.
import { describe, expect, it } from "vitest";
import { redactTokenParameters } from "../../src/app/redactTokenParameters.ts";

const config = {
  routes: [{ tokenSource: { header: null, cookie: null, query: "access_token" } }, { tokenSource: undefined }],
} as unknown as Parameters<typeof redactTokenParameters>[1];

describe("explain's request path", () => {
  it("replaces the value of a query token parameter, plain or percent-encoded, and keeps the others", () => {
    expect(redactTokenParameters("/ws?room=1&access_token=eyJ.a.b&access%5Ftoken=x", config)).toBe(
      "/ws?room=1&access_token=[redacted]&access%5Ftoken=[redacted]",
    );
  });

  it("leaves a path without that parameter as it is", () => {
    expect(redactTokenParameters("/api/x?q=1", config)).toBe("/api/x?q=1");
    expect(redactTokenParameters("/api/x", config)).toBe("/api/x");
  });
});
