/**
 * Export the datasets used by training/autoencoder/train.py (until `ecg-cds dataset ae` is wired):
 *
 *     npx tsx training/autoencoder/export-datasets.ts [ds1 ds1-ma0 ... | all]
 *
 * Writes training/cache/ae/<name>/ from ../shared/data. `ds1` is the training set (50 % overlapping
 * segments, the contract's normalisation); `ds1-ma<snr>` and `ds1-bw<snr>` add nstdb muscle-artefact and
 * baseline-wander noise to DS1 for the model-selection experiment; suffixes `-rr` and `-seg` / `-cap` use
 * the other normalisations of ae-input.ts that the experiment weighs. The electrode-motion nstdb records
 * and DS2 are read only by `eval ae` (training/autoencoder/report.ts), never here.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDatasetAe } from '../../src/cli/dataset-ae.js';
import { AE_SCALE, type AeScale } from '../../src/inference/analysis/ae-input.js';

const repo = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const data = process.env['ECG_SHARED_DATA'] ?? resolve(repo, '..', 'shared', 'data');
const cache = join(repo, 'training', 'cache', 'ae');
const mitdb = join(data, 'mitdb');
const noises: Record<string, string> = { ma: join(data, 'nstdb', 'ma'), bw: join(data, 'nstdb', 'bw') };
const suffixes: Record<AeScale, string> = { 'record-r': '-rr', 'segment-p98': '-seg', 'segment-p98-record-cap': '-cap' };

const jobs: Record<string, () => Promise<number>> = {};
for (const scale of Object.keys(suffixes) as AeScale[]) {
  const suffix = scale === AE_SCALE ? '' : suffixes[scale];
  jobs[`ds1${suffix}`] = () =>
    runDatasetAe({ db: mitdb, records: 'DS1', stride: 128, scale, out: join(cache, `ds1${suffix}`) });
  for (const [kind, record] of Object.entries(noises)) {
    for (const snr of [6, 0, -6]) {
      const name = `ds1-${kind}${snr}${suffix}`;
      jobs[name] = () =>
        runDatasetAe({ db: mitdb, records: 'DS1', scale, addNoise: { record, snrDb: snr }, out: join(cache, name) });
    }
  }
}
const wanted = process.argv.slice(2);
for (const name of wanted.length === 0 || wanted[0] === 'all' ? Object.keys(jobs) : wanted) {
  const job = jobs[name];
  if (!job) throw new Error(`unknown dataset ${name}; choose from ${Object.keys(jobs).join(', ')}`);
  await job();
}
