// Child process: the transport floor, a grpc-js ext_authz server on the project's proto/ files
// whose Check answers OK at once. Prints {"port": N} once bound to 127.0.0.1; stops on SIGTERM.
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { loadProtos } from "../src/transport/loadProtos.ts";

const OK_RESPONSE = { status: { code: 0 }, ok_response: {} };

const server = new Server({
  // The same server options as src/transport/startGrpcServer.ts, so only the handler differs.
  "grpc.keepalive_time_ms": 60_000,
  "grpc.keepalive_timeout_ms": 20_000,
  "grpc.max_receive_message_length": 1024 * 1024,
  "grpc.enable_channelz": 0,
});
server.addService(loadProtos().authorization, {
  Check(_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) {
    callback(null, OK_RESPONSE);
  },
});
server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`noop check server: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ port })}\n`);
});
process.once("SIGTERM", () => {
  server.forceShutdown();
  process.exit(0);
});
