/** `npm run bench`: every benchmark, printed as numbers (targets live here, not in timed tests). */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { benchQrs } from './qrs.bench.js';

const dataDir = resolve(
  process.env.ECG_SHARED_DATA ?? resolve(import.meta.dirname, '..', '..', 'shared', 'data'),
);
if (!existsSync(dataDir)) {
  process.stderr.write(`bench: ${dataDir} not found (PhysioNet databases absent; set ECG_SHARED_DATA)\n`);
  process.exit(2);
}
process.stdout.write(
  `machine: ${(await import('node:os')).cpus()[0]?.model ?? 'unknown'} × ${(await import('node:os')).cpus().length}, node ${process.version}\n`,
);
for (const line of await benchQrs(dataDir)) process.stdout.write(`${line}\n`);
