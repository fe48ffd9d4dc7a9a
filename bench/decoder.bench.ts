/**
 * ECG Observation decoder (issue #14 items 2 and 7): raw JSON text → leads in mV, for a 10-s 12-lead
 * (PTB-XL 00001) and a 30-min two-lead recording (MIT-BIH 100, split into parts as our encoder writes
 * it), our codec (JSON.parse + decodeEcgObservation: checks, units, E/L/U mask, typed arrays) against a
 * same-run baseline that does no checking at all: JSON.parse + `data.split(' ').map(Number)` per
 * component into a Float32Array. Runs alternate between the two; the figure is the median of each and
 * the ratio ours/baseline (below 1: ours is faster). The JSON.parse share of our time is printed too.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeEcgObservation, encodeEcgObservation } from '../src/fhir/ecg-codec.js';
import { readWfdbRecord } from '../src/inference/io/record.js';
import { median } from './stats.js';

/** What a naive decoder does: every component's data split on spaces, numbers into a typed array. */
function baselineDecode(text: string): Float32Array[] {
  const obs = JSON.parse(text) as fhir4.Observation;
  return (obs.component ?? []).map((c) =>
    Float32Array.from(c.valueSampledData!.data!.split(' ').map(Number)),
  );
}

function ourDecode(text: string): number {
  return decodeEcgObservation(JSON.parse(text)).leads.length;
}

/** Median ms of `runs` calls of each, interleaved (a, b, a, b, …) after a warm-up. */
function race(
  runs: number,
  a: () => unknown,
  b: () => unknown,
  c: () => unknown,
): { a: number; b: number; c: number } {
  for (let i = 0; i < Math.max(3, runs / 5); i++) {
    a();
    b();
    c();
  }
  const ta: number[] = [];
  const tb: number[] = [];
  const tc: number[] = [];
  for (let i = 0; i < runs; i++) {
    for (const [f, t] of (i % 2
      ? [
          [b, tb],
          [a, ta],
          [c, tc],
        ]
      : [
          [a, ta],
          [b, tb],
          [c, tc],
        ]) as [() => unknown, number[]][]) {
      const t0 = performance.now();
      f();
      t.push(performance.now() - t0);
    }
  }
  return { a: median(ta), b: median(tb), c: median(tc) };
}

export async function benchDecoder(dataDir: string): Promise<string[]> {
  const out: string[] = [
    'ECG decoder, raw JSON → leads (median ms; baseline JSON.parse + split/map, no checks):',
  ];
  // PTB-XL 00001 from the shared data, else the repository's fixture 00003 (both 10-s 12-lead at 500 Hz).
  const shared = join(dataDir, 'ptbxl', 'records500', '00000', '00001_hr');
  const fixture = resolve(import.meta.dirname, '..', 'test', 'fixtures', 'ptbxl', '00003_hr');
  const useShared = existsSync(`${shared}.hea`);
  const cases: { label: string; path: string; runs: number }[] = [
    {
      label: `10-s 12-lead (PTB-XL ${useShared ? '00001' : '00003'}, 500 Hz)`,
      path: useShared ? shared : fixture,
      runs: 200,
    },
    { label: '30-min 2-lead (MIT-BIH 100, 360 Hz)', path: join(dataDir, 'mitdb', '100'), runs: 15 },
  ];
  for (const c of cases) {
    if (!existsSync(`${c.path}.hea`)) {
      out.push(`  ${c.label}: skipped (${c.path} not found)`);
      continue;
    }
    const { ecg } = await readWfdbRecord(c.path);
    const text = JSON.stringify(encodeEcgObservation(ecg, { patientId: 'bench' }));
    const t = race(
      c.runs,
      () => ourDecode(text),
      () => baselineDecode(text),
      () => JSON.parse(text),
    );
    out.push(
      `  ${c.label}, ${(text.length / 1e6).toFixed(2)} MB: ours ${t.a.toFixed(2)} ms ` +
        `(JSON.parse ${t.c.toFixed(2)} ms of it), baseline ${t.b.toFixed(2)} ms → ours/baseline ` +
        `${(t.a / t.b).toFixed(2)}×; after JSON.parse ours ${(t.a - t.c).toFixed(2)} ms vs ` +
        `${(t.b - t.c).toFixed(2)} ms (${((t.a - t.c) / Math.max(1e-6, t.b - t.c)).toFixed(2)}×)`,
    );
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dataDir = resolve(
    process.env['ECG_SHARED_DATA'] ?? resolve(import.meta.dirname, '..', '..', 'shared', 'data'),
  );
  for (const line of await benchDecoder(dataDir)) process.stdout.write(`${line}\n`);
}
