/**
 * One analysis worker (a Piscina worker thread): loads the ONNX engine once, then runs decode +
 * `analyze()` for the tasks the pool sends it. Each session gets one intra-op thread: the pool's
 * workers are the parallelism, and N workers × all-cores sessions would oversubscribe the CPU.
 */
import { workerData } from 'node:worker_threads';
import { resultOf } from '../fhir/analyze-observation.js';
import { DecodeError } from '../fhir/ecg-codec.js';
import { analyze } from '../inference/analyze.js';
import { engineProvider, loadEngine, modelSetVersion } from '../inference/model/engine.js';
import { ecgViewOf } from '../viewer/analysis.js';
import type { PoolReplies, PoolTask, WorkerSetup } from './tasks.js';

const setup = workerData as WorkerSetup;
const warnings: string[] = [];
// A model that fails its manifest check fails this import, and so the pool's first task (at start-up).
const engine = await loadEngine(setup.modelsDir, {
  provider: setup.provider,
  intraOpThreads: 1,
  warn: (message) => warnings.push(message),
});

export default async function run(task: PoolTask): Promise<PoolReplies[PoolTask['kind']]> {
  switch (task.kind) {
    case 'info':
      return { version: modelSetVersion(engine), provider: engineProvider(engine), warnings };
    case 'results': {
      // Started together, the analyses reach each model in step and the sessions batch their calls.
      const settled = await Promise.allSettled(
        task.items.map((obs) => resultOf(obs, engine, task.modelVersion, task.limits)),
      );
      return settled.map((s) =>
        s.status === 'fulfilled'
          ? { result: s.value }
          : { error: String((s.reason as Error)?.message ?? s.reason) },
      );
    }
    case 'view':
      try {
        return { view: await ecgViewOf(task.obs, (ecg) => analyze(ecg, engine)) };
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        return {
          decodeError: { code: err.code, message: err.message, ...(err.path ? { path: err.path } : {}) },
        };
      }
  }
}
