/**
 * Export the rhythm datasets used by training/rhythm/train.py (until `ecg-cds dataset rhythm` is wired):
 *
 *     npx tsx training/rhythm/export-datasets.ts [cinc|ds1|ds2 ...]
 *
 * Writes training/cache/rhythm/{cinc2017,mitdb-DS1,mitdb-DS2}/ from ../shared/data.
 */
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDatasetRhythm } from '../../src/cli/dataset-rhythm.js';

const repo = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const data = process.env['ECG_SHARED_DATA'] ?? resolve(repo, '..', 'shared', 'data');
const cache = join(repo, 'training', 'cache', 'rhythm');
const jobs: Record<string, () => Promise<number>> = {
  cinc: () => runDatasetRhythm({ db: join(data, 'cinc2017'), out: join(cache, 'cinc2017') }),
  ds1: () => runDatasetRhythm({ db: join(data, 'mitdb'), records: 'DS1', out: join(cache, 'mitdb-DS1') }),
  ds2: () => runDatasetRhythm({ db: join(data, 'mitdb'), records: 'DS2', out: join(cache, 'mitdb-DS2') }),
};
const wanted = process.argv.slice(2);
for (const name of wanted.length ? wanted : Object.keys(jobs)) {
  const job = jobs[name];
  if (!job) throw new Error(`unknown dataset ${name}; choose from ${Object.keys(jobs).join(', ')}`);
  await job();
}
