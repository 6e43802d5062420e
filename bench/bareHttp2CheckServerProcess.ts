// Child process: bare node:http2 answering every stream with a fixed OK CheckResponse (no gRPC call
// object, no parsing): the floor of node:http2 itself. Prints {"port": N}; stops on SIGTERM.
import { createServer, type ServerHttp2Stream } from "node:http2";
import type { AddressInfo } from "node:net";
// CheckResponse { status { code: 0 } }, framed: the no-op server's answer.
const answer = Buffer.from([0, 0, 0, 0, 4, 0x0a, 0x02, 0x08, 0x00]);
const trailers = { "grpc-status": "0", "grpc-message": "OK" };
const headers = { ":status": 200, "content-type": "application/grpc+proto" };
// sendDate: node:http2 takes it (as src/transport/grpcWire.ts does) though its types do not name it.
const respondOptions = { waitForTrailers: true, sendDate: false };
function sendTrailers(this: ServerHttp2Stream): void {
  if (!this.destroyed && !this.closed) this.sendTrailers(trailers);
}
const server = createServer({ settings: { maxConcurrentStreams: 1000 }, maxSessionMemory: Number.MAX_SAFE_INTEGER });
server.on("stream", (stream) => {
  stream.on("error", () => undefined);
  stream.resume();
  stream.once("end", () => {
    if (stream.destroyed || stream.closed) return;
    stream.once("wantTrailers", sendTrailers);
    stream.respond(headers, respondOptions);
    stream.end(answer);
  });
});
server.listen(0, "127.0.0.1", () =>
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`),
);
process.once("SIGTERM", () => process.exit(0));
