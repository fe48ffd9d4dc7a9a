/**
 * Damaged or inconsistent record files give a RecordReadError that names the file, never a crash
 * or a silently shortened record.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { RecordReadError } from '../../../src/inference/io/errors.js';
import { readAnnotations, readWfdbRecord } from '../../../src/inference/io/record.js';
import { writeAnnotationFile, writeWfdbRecord } from '../../../src/inference/io/wfdb-write.js';
import { FIXTURES } from '../../support/shared-data.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wfdb-bad-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Write a small valid record `name` (format 212, 2 signals x 100 samples, with an .atr). */
async function good(name: string): Promise<string> {
  const digital = [
    Int32Array.from({ length: 100 }, (_, i) => i - 50),
    Int32Array.from({ length: 100 }, (_, i) => 3 * i),
  ];
  const signals = [0, 1].map((i) => ({ description: `s${i}`, gain: 200, baseline: 0 }));
  await writeWfdbRecord(dir, { recordName: name, fs: 360, format: 212, signals, digital });
  await writeAnnotationFile(join(dir, name), 'atr', [
    { sample: 0, symbol: '+', aux: '(N' },
    { sample: 40, symbol: 'N' },
    { sample: 90, symbol: 'V' },
  ]);
  return join(dir, name);
}

/** Assert `run` rejects with a RecordReadError for `file` whose message matches `detail`. */
async function rejectsFor(run: () => Promise<unknown>, file: string, detail: RegExp): Promise<void> {
  await assert.rejects(run, (err: unknown) => {
    assert.ok(err instanceof RecordReadError, `expected RecordReadError, got ${String(err)}`);
    assert.equal(err.file, file);
    assert.ok(err.message.startsWith(`${file}: `), err.message);
    assert.match(err.message, detail);
    return true;
  });
}

describe('bad WFDB records', () => {
  test('the helper record reads', async () => {
    const rec = await readWfdbRecord(await good('ok'));
    assert.equal(rec.digital[0]!.length, 100);
    assert.equal((await readAnnotations(join(dir, 'ok'))).length, 3);
  });

  test('truncated .dat', async () => {
    const base = await good('short');
    await truncate(`${base}.dat`, 200);
    await rejectsFor(() => readWfdbRecord(base), `${base}.dat`, /truncated/);
  });

  test('.dat longer than the header declares', async () => {
    const base = await good('long');
    await writeFile(`${base}.dat`, Buffer.concat([await readFile(`${base}.dat`), Buffer.alloc(30)]));
    await rejectsFor(() => readWfdbRecord(base), `${base}.dat`, /length mismatch/);
  });

  test('unknown signal format 999', async () => {
    const base = await good('fmt');
    const hea = await readFile(`${base}.hea`, 'latin1');
    await writeFile(`${base}.hea`, hea.replaceAll('fmt.dat 212', 'fmt.dat 999'));
    await rejectsFor(() => readWfdbRecord(base), `${base}.dat`, /unsupported WFDB signal format 999/);
  });

  test('missing .hea', async () => {
    const base = join(dir, 'nothing');
    await rejectsFor(() => readWfdbRecord(base), `${base}.hea`, /file not found/);
  });

  test('missing .dat', async () => {
    const base = await good('nodat');
    await rm(`${base}.dat`);
    await rejectsFor(() => readWfdbRecord(base), `${base}.dat`, /file not found/);
  });

  for (const [label, text, detail] of [
    ['random bytes', '\u0000\u00ff\u0013 garbage !!\n@@@', /number of signals is not an integer/],
    ['an empty file', '', /no record line/],
    ['fewer signal lines than declared', 'g 3 360 100\ng.dat 212 200\n', /declares 3 signals but has 1/],
    [
      'a negative sample count',
      'g 1 360 -5\ng.dat 16 200\n',
      /number of samples must be a non-negative integer/,
    ],
    ['a non-numeric gain', 'g 1 360 100\ng.dat 16 abc\n', /cannot read gain field/],
    ['zero signals', 'g 0 360 100\n', /no signals/],
    ['a multi-segment record', 'g/2 1 360 100\n', /multi-segment/],
  ] as const) {
    test(`garbage header: ${label}`, async () => {
      const base = join(dir, `garbage-${label.replaceAll(' ', '-')}`);
      await writeFile(`${base}.hea`, text, 'latin1');
      await rejectsFor(() => readWfdbRecord(base), `${base}.hea`, detail);
    });
  }

  test('truncated .atr: in the middle of a word, of an AUX string, and before the end marker', async () => {
    const base = await good('atr');
    const full = await readFile(`${base}.atr`);
    for (const cut of [full.length - 1, 5, full.length - 2]) {
      await writeFile(`${base}.atr`, full.subarray(0, cut));
      await rejectsFor(() => readAnnotations(base), `${base}.atr`, /truncated/);
    }
  });

  test('truncated .mat (CinC 2017 record)', async () => {
    for (const ext of ['hea', 'mat'])
      await writeFile(
        join(dir, `A00004.${ext}`),
        await readFile(join(FIXTURES, 'cinc2017', `A00004.${ext}`)),
      );
    const base = join(dir, 'A00004');
    assert.equal((await readWfdbRecord(base)).digital[0]!.length, 9000);
    await truncate(`${base}.mat`, 10000);
    await rejectsFor(() => readWfdbRecord(base), `${base}.mat`, /truncated/);
    await truncate(`${base}.mat`, 12);
    await rejectsFor(() => readWfdbRecord(base), `${base}.mat`, /too short/);
  });

  test('.mat holding fewer samples than the header declares', async () => {
    await writeFile(join(dir, 'A00007.mat'), await readFile(join(FIXTURES, 'cinc2017', 'A00007.mat')));
    const hea = await readFile(join(FIXTURES, 'cinc2017', 'A00007.hea'), 'latin1');
    await writeFile(join(dir, 'A00007.hea'), hea.replace(' 9000 ', ' 9001 '), 'latin1');
    await rejectsFor(() => readWfdbRecord(join(dir, 'A00007')), join(dir, 'A00007.mat'), /length mismatch/);
  });
});
