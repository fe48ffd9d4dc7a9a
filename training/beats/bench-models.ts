/**
 * The analyze benchmark (bench/analyze.bench.ts) for several model directories, interleaved, in one process,
 * so a candidate beat model and the current one are timed under the same machine load:
 *
 *     npx tsx training/beats/bench-models.ts <models-dir> [<models-dir> ...] [--rounds 2]
 *
 * Each directory needs a shipped.json naming the models it holds (e.g. a copy of models/ with another
 * "beat"). For the repository's own models/ directory the PyTorch-eager vs ONNX Runtime comparison of
 * bench/torch-vs-onnx.bench.ts runs too (training/beats/bench_torch.py loads the beat model that
 * models/shipped.json names). The data folder is $ECG_SHARED_DATA or ../shared/data.
 */
import { resolve } from 'node:path';
import { benchAnalyze } from '../../bench/analyze.bench.js';
import { benchTorchVsOnnx } from '../../bench/torch-vs-onnx.bench.js';
import { loadEngine } from '../../src/inference/model/index.js';

const args = process.argv.slice(2);
const at = args.indexOf('--rounds');
const rounds = at >= 0 ? Number(args.splice(at, 2)[1]) : 2;
const repo = resolve(import.meta.dirname, '..', '..');
const dataDir = resolve(process.env.ECG_SHARED_DATA ?? resolve(import.meta.dirname, '..', '..', '..', 'shared', 'data'));
for (let round = 1; round <= rounds; round++) {
  for (const dir of args) {
    const engine = await loadEngine(dir);
    try {
      console.log(`round ${round}: ${dir} (beat ${engine.beat.manifest.id}@${engine.beat.manifest.version})`);
      for (const line of await benchAnalyze(dataDir, engine)) console.log(line);
      if (round === rounds && resolve(dir) === resolve(repo, 'models'))
        for (const line of await benchTorchVsOnnx(dataDir, engine.beat, repo)) console.log(line);
    } finally {
      await engine.dispose();
    }
  }
}
