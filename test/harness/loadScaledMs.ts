// A time limit a test asserts, stretched by how loaded the machine is: the limit itself on an idle
// or normally busy machine, times the 1-minute load average per core beyond that (a load of 12 on
// 2 cores gives six times the limit). The behaviour is still asserted with a deadline; a starved
// test process is not mistaken for a slow product.
import { availableParallelism, loadavg } from "node:os";

export function loadScaledMs(ms: number): number {
  const perCore = (loadavg()[0] ?? 0) / availableParallelism();
  return Math.round(ms * Math.max(1, perCore));
}
