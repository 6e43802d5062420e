// The generations of the Check pipeline in one process: the current one takes every new check, a
// retired one finishes the checks it started, and a registry (which a kept-providers reload shares
// between generations) is closed when the last generation using it is released. Browser login that a
// reload replaced is closed with its generation.
import type { AccessRequest } from "../core/AccessRequest.ts";
import type { Decision } from "../core/Decision.ts";
import type { ProviderRegistry } from "../oidc/ProviderRegistry.ts";
import type { CheckPipeline } from "./buildCheckPipeline.ts";

export interface Generations {
  current(): CheckPipeline;
  /** One check on the current generation; counted so a retired generation is released after its last. */
  decide(request: AccessRequest): Promise<Decision>;
  /** Makes `pipeline` current; the old generation is released once its checks in flight are done. */
  swap(pipeline: CheckPipeline): void;
  /** Closes every registry still open; checks in flight keep verifying with loaded keys. */
  closeAll(): void;
}

interface Generation {
  readonly pipeline: CheckPipeline;
  inflight: number;
  retired: boolean;
}

export function trackGenerations(first: CheckPipeline): Generations {
  // Generations that still use a registry (a kept registry spans several); closed at zero.
  const registryUsers = new Map<ProviderRegistry, number>();
  let current = generation(first);

  function generation(pipeline: CheckPipeline): Generation {
    registryUsers.set(pipeline.registry, (registryUsers.get(pipeline.registry) ?? 0) + 1);
    return { pipeline, inflight: 0, retired: false };
  }

  function release(gen: Generation): void {
    const { registry } = gen.pipeline;
    // Sessions a reload replaced: no check runs on them any more, and the auth listener uses the current ones.
    if (gen.pipeline.login !== null && gen.pipeline.login !== current.pipeline.login) gen.pipeline.login.close();
    const users = (registryUsers.get(registry) ?? 1) - 1;
    if (users > 0) {
      registryUsers.set(registry, users);
      return;
    }
    registryUsers.delete(registry);
    registry.close();
  }

  function settled(gen: Generation): void {
    gen.inflight -= 1;
    if (gen.retired && gen.inflight === 0) release(gen);
  }

  return {
    current: () => current.pipeline,
    decide(request) {
      const gen = current;
      gen.inflight += 1;
      let decided: Promise<Decision>;
      try {
        // A config without trace on demand pays one property read for it.
        const traceLog = gen.pipeline.requestTrace;
        decided = traceLog == null ? gen.pipeline.gate.decide(request) : traceLog.decide(gen.pipeline.gate, request);
      } catch (fault) {
        decided = Promise.reject(fault);
      }
      const done = () => settled(gen);
      decided.then(done, done);
      return decided;
    },
    swap(pipeline) {
      // One reference: checks already inside the old gate finish there.
      const old = current;
      current = generation(pipeline);
      old.retired = true;
      if (old.inflight === 0) release(old);
    },
    closeAll() {
      for (const registry of registryUsers.keys()) registry.close();
      registryUsers.clear();
    },
  };
}
