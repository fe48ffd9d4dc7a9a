/**
 * The shipped quality gate's report (issue #3 item 5), written to models/ae-quality.eval.json:
 *
 *     npx tsx training/autoencoder/report.ts [<models dir> <output json>]
 *
 * Runs `eval ae` (src/cli/eval-ae.ts: the TypeScript pipeline with the shipped ONNX model and threshold) on
 * the noise stress test records 118e24, 118e12, 118e00 (electrode motion at 24, 12 and 0 dB) and on MIT-BIH
 * DS2, which nothing in training reads, and prints the summary table.
 */
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AE_MODEL_ID, readAeThreshold } from '../../src/inference/analysis/ae-gate.js';
import { evaluateAe, formatAeReport } from '../../src/cli/eval-ae.js';
import { loadModel } from '../../src/inference/model/session.js';

const repo = resolve(fileURLToPath(import.meta.url), '..', '..', '..');
const data = process.env['ECG_SHARED_DATA'] ?? resolve(repo, '..', 'shared', 'data');
// A candidate's folder (written by train.py --models-dir) may be given instead of the shipped models.
const models = resolve(process.argv[2] ?? join(repo, 'models'));
const output = resolve(process.argv[3] ?? join(models, `${AE_MODEL_ID}.eval.json`));

const { threshold, contract } = await readAeThreshold(models, AE_MODEL_ID, process.argv[2] !== undefined);
const model = await loadModel(models, AE_MODEL_ID);
try {
  const sets = {
    nstdb: { db: join(data, 'nstdb'), records: '118e24,118e12,118e00' },
    ds2: { db: join(data, 'mitdb'), records: 'DS2' },
  };
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(sets)) {
    const report = await evaluateAe({ ...s, model, threshold, scale: contract.scale });
    process.stdout.write(`${formatAeReport(report)}\n`);
    // Paths relative to the repository, so the file does not depend on where it was run.
    out[key] = { ...report, db: s.db.startsWith(data) ? `../shared/data${s.db.slice(data.length)}` : s.db };
  }
  await writeFile(output, `${JSON.stringify({ createdAt: new Date().toISOString(), threshold, scale: contract.scale, ...out }, null, 2)}\n`);
} finally {
  await model.dispose();
}
