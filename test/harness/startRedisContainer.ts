// Redis in a container (PORTCULLIS_TEST_CONTAINERS=1): the pinned image bound to a reserved loopback
// port, so stop() and start() keep the port as the local path does. pause()/resume() need signals
// to the server process, which only the local path has: they throw rather than pretend.

import { type TestRedis, redisCommand } from "./startRedis.ts";
import { type StartedContainer, REDIS_IMAGE, loadTestcontainers } from "./testComponentSource.ts";
import { reservePort } from "./reservePort.ts";

export async function startRedisContainer(options: { password?: string } = {}): Promise<TestRedis> {
  const { GenericContainer, Wait } = await loadTestcontainers();
  const reserved = await reservePort();
  const port = reserved.port;
  await reserved.release();
  const command = ["redis-server", "--save", "", "--appendonly", "no"];
  if (options.password) command.push("--requirepass", options.password);
  let container: StartedContainer | null = null;
  const start = async () => {
    container = await new GenericContainer(REDIS_IMAGE)
      .withExposedPorts({ container: 6379, host: port })
      .withCommand(command)
      .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
      .start();
  };
  const stop = async () => {
    const running = container;
    container = null;
    await running?.stop();
  };
  const unsupported = (what: string) => () => {
    throw new Error(`${what} needs the local redis-server (unset PORTCULLIS_TEST_CONTAINERS)`);
  };
  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    stop,
    start,
    pause: unsupported("pause()"),
    resume: unsupported("resume()"),
    command: (...args) => redisCommand(port, args, options.password),
    close: stop,
  };
}
