// Which gRPC transport answers on a port: grpc-js names its accepted encodings (grpc-accept-encoding)
// in every answer's headers, the node:http2 server does not, and the node:net server announces its own
// stream window in its SETTINGS. Asks with one grpc.health.v1 Check.
import { connect } from "node:http2";
import { NET_STREAM_WINDOW } from "../../src/transport/NetH2Connection.ts";

export function servedByTransport(port: number): Promise<"http2" | "net" | "grpc-js"> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on("error", reject);
    const stream = session.request({
      ":method": "POST",
      ":path": "/grpc.health.v1.Health/Check",
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("response", (headers) => {
      if (headers["grpc-accept-encoding"] !== undefined) resolve("grpc-js");
      else resolve(session.remoteSettings.initialWindowSize === NET_STREAM_WINDOW ? "net" : "http2");
      // destroy, not close: a graceful close left this side of the connection open until the process
      // exited, and a serve being stopped waited its whole grace period for it.
      session.destroy();
    });
    stream.resume();
    stream.end(Buffer.from([0, 0, 0, 0, 0]));
  });
}
