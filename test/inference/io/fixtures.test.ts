/**
 * The committed excerpts (test/fixtures, written by scripts/make-fixtures.ts): they read, agree with
 * their headers and README, and hold what the README says they show. These always run.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readAnnotations, readWfdbRecord } from '../../../src/inference/io/record.js';
import { type Annotation, BEAT_SYMBOLS } from '../../../src/inference/io/wfdb-annotation.js';
import { decodeSignalFile, wfdbChecksum } from '../../../src/inference/io/wfdb-signal.js';
import { FIXTURES, SHARED_DATA, skipUnlessSharedData } from '../../support/shared-data.js';

const EXCERPTS = [
  { path: 'mitdb/mitdb-100-0m-5m', source: 'mitdb/100', start: 0, n: 108000 },
  { path: 'mitdb/mitdb-201-1m-4m', source: 'mitdb/201', start: 21600, n: 64800 },
  { path: 'mitdb/mitdb-119-21m-24m', source: 'mitdb/119', start: 453600, n: 64800 },
  { path: 'mitdb/mitdb-105-20m-22m', source: 'mitdb/105', start: 432000, n: 43200 },
  { path: 'nstdb/nstdb-118e00-5m-7m', source: 'nstdb/118e00', start: 108000, n: 43200 },
  { path: 'svdb-dev/svdb-dev-809-16m-19m', source: 'svdb-dev/809', start: 122880, n: 23040, fs: 128, baseline: 0 },
] as const;
const fsOf = (x: (typeof EXCERPTS)[number]): number => ('fs' in x ? x.fs : 360);
const baselineOf = (x: (typeof EXCERPTS)[number]): number => ('baseline' in x ? x.baseline : 1024);
const WHOLE = [
  'cinc2017/A00004',
  'cinc2017/A00007',
  'ptbxl/00003_hr',
  'ptbxl/00318_hr',
  'ptbxl/00351_hr',
] as const;

const fixture = (p: string) => join(FIXTURES, p);
const rhythms = (anns: readonly Annotation[]) => anns.filter((a) => a.symbol === '+').map((a) => a.aux);

describe('fixture files', () => {
  test('every file listed in the README has the SHA-256 written there', async () => {
    const readme = await readFile(fixture('README.md'), 'utf8');
    const lines = [...readme.matchAll(/^([0-9a-f]{64}) {2}(\S+)$/gm)];
    assert.equal(lines.length, 41); // 39 PhysioNet files + 2 HL7 FHIR example Observations
    for (const [, hash, file] of lines) {
      const actual = createHash('sha256')
        .update(await readFile(fixture(file!)))
        .digest('hex');
      assert.equal(actual, hash, file);
    }
  });

  test('README keeps the attribution each licence asks for', async () => {
    const readme = await readFile(fixture('README.md'), 'utf8');
    for (const needle of [
      'ODC-By 1.0',
      'CC BY 4.0',
      '10.13026/C2F305',
      '10.13026/C2HS3T',
      '10.13026/x4td-x982',
    ]) {
      assert.ok(readme.includes(needle), needle);
    }
    assert.ok(readme.includes('Circulation 101(23):e215-e220'));
    assert.ok(readme.includes('CinC.2017.065-469'));
  });
});

describe('fixture records read and match their headers', () => {
  for (const x of EXCERPTS) {
    test(`${x.path}: ${x.n} samples x 2 at ${fsOf(x)} Hz, first values and checksums as in the header`, async () => {
      const rec = await readWfdbRecord(fixture(x.path));
      assert.equal(rec.ecg.fs, fsOf(x));
      assert.equal(rec.header.nSamples, x.n);
      assert.deepEqual(
        rec.header.signals.map((s) => [s.gain, s.baseline, s.units]),
        [
          [200, baselineOf(x), 'mV'],
          [200, baselineOf(x), 'mV'],
        ],
      );
      rec.header.signals.forEach((s, i) => {
        assert.equal(rec.digital[i]![0], s.initialValue);
        assert.equal(wfdbChecksum(rec.digital[i]!), s.checksum);
      });
      assert.ok(rec.checksumOk.every(Boolean));
      const anns = await readAnnotations(fixture(x.path));
      assert.ok(anns.every((a) => a.sample >= 0 && a.sample < x.n));
    });
  }

  test('mitdb-100-0m-5m starts at 995/1011, MLII then V5', async () => {
    const rec = await readWfdbRecord(fixture('mitdb/mitdb-100-0m-5m'));
    assert.deepEqual(
      rec.ecg.leads.map((l) => l.name),
      ['MLII', 'V5'],
    );
    assert.deepEqual([rec.digital[0]![0], rec.digital[1]![0]], [995, 1011]);
    assert.ok(
      Math.abs(rec.ecg.leads[0]!.samples[0]! - (995 - 1024) / 200) < 1e-6,
      'mV = (adu - baseline) / gain',
    );
  });

  test('ptbxl: 12 x 5000 samples whose first values and checksums match the header', async () => {
    for (const r of WHOLE.filter((w) => w.startsWith('ptbxl'))) {
      const rec = await readWfdbRecord(fixture(r));
      assert.equal(rec.ecg.leads.length, 12);
      assert.equal(rec.ecg.leads[0]!.samples.length, 5000);
      rec.header.signals.forEach((s, i) => {
        assert.equal(rec.digital[i]![0], s.initialValue);
      });
      assert.ok(rec.checksumOk.every(Boolean));
    }
  });

  test('cinc2017: the MAT v4 path equals the WFDB "16+24" byte-offset path', async () => {
    for (const r of WHOLE.filter((w) => w.startsWith('cinc2017'))) {
      const rec = await readWfdbRecord(fixture(r));
      assert.equal(rec.ecg.fs, 300);
      assert.equal(rec.digital[0]!.length, 9000);
      const raw = await readFile(fixture(`${r}.mat`));
      assert.deepEqual(decodeSignalFile(raw, rec.header.signals, 9000, r).digital[0], rec.digital[0]);
    }
  });
});

describe('fixture annotations show what the README says', () => {
  test('mitdb-100-0m-5m: 371 beats with known labels, sinus rhythm', async () => {
    const anns = await readAnnotations(fixture('mitdb/mitdb-100-0m-5m'));
    assert.equal(anns.filter((a) => BEAT_SYMBOLS.has(a.symbol)).length, 371);
    assert.equal(anns.length, 372);
    assert.deepEqual(rhythms(anns), ['(N']);
  });

  test('mitdb-201-1m-4m: atrial fibrillation in force from sample 0 to the end', async () => {
    const anns = await readAnnotations(fixture('mitdb/mitdb-201-1m-4m'));
    assert.deepEqual(anns[0], {
      sample: 0,
      symbol: '+',
      code: 28,
      subtype: 0,
      chan: 0,
      num: 0,
      aux: '(AFIB',
    });
    assert.deepEqual(rhythms(anns), ['(AFIB']);
    assert.equal(anns.filter((a) => BEAT_SYMBOLS.has(a.symbol)).length, 266);
  });

  test('mitdb-119-21m-24m: ventricular bigeminy "(B" episodes, V every other beat in them', async () => {
    const anns = await readAnnotations(fixture('mitdb/mitdb-119-21m-24m'));
    assert.deepEqual(anns[0]?.aux, '(N', 'rhythm in force at the cut');
    assert.ok(rhythms(anns).filter((r) => r === '(B').length >= 4);
    const changes = anns.filter((a) => a.symbol === '+');
    changes.forEach((c, k) => {
      if (c.aux !== '(B') return;
      const end = changes[k + 1]?.sample ?? Number.POSITIVE_INFINITY;
      const isV = anns
        .filter((a) => BEAT_SYMBOLS.has(a.symbol) && a.sample >= c.sample && a.sample < end)
        .map((a) => a.symbol === 'V');
      assert.ok(isV.length >= 4, `episode at ${c.sample} has beats`);
      assert.ok(
        isV.every((v, i) => i === 0 || v !== isV[i - 1]),
        `V alternates with N in the episode at ${c.sample}: ${isV}`,
      );
    });
  });

  test('mitdb-105-20m-22m: noisy, "~" with both channels noisy (3) or unreadable (-1)', async () => {
    const quality = (await readAnnotations(fixture('mitdb/mitdb-105-20m-22m'))).filter(
      (a) => a.symbol === '~',
    );
    assert.equal(quality.length, 13);
    assert.deepEqual(quality[0], { sample: 0, symbol: '~', code: 14, subtype: 3, chan: 0, num: 0, aux: '' });
    assert.ok(quality.some((q) => q.subtype === -1));
  });

  test('labels of the whole records: cinc2017 A and N, ptbxl AFIB and NORM', async () => {
    assert.equal(await readFile(fixture('cinc2017/REFERENCE.csv'), 'latin1'), 'A00004,A\nA00007,N\n');
    const csv = (await readFile(fixture('ptbxl/ptbxl_database.csv'), 'latin1')).trim().split('\n');
    assert.equal(csv.length, 4);
    assert.match(csv[1]!, /^3,.*'NORM': 100\.0.*records500\/00000\/00003_hr$/);
    assert.match(csv[2]!, /^318,.*'AFIB': 0\.0.*records500\/00000\/00318_hr$/);
    assert.match(csv[3]!, /^351,.*'AFIB': 100\.0.*records500\/00000\/00351_hr$/);
  });
});

describe('fixtures against their source', { skip: skipUnlessSharedData }, () => {
  for (const x of EXCERPTS) {
    test(`${x.path} holds the source's digital values and annotations`, async () => {
      const [src, cut] = await Promise.all([
        readWfdbRecord(join(SHARED_DATA, x.source)),
        readWfdbRecord(fixture(x.path)),
      ]);
      src.digital.forEach((d, i) => {
        assert.deepEqual(cut.digital[i], d.subarray(x.start, x.start + x.n));
      });
      const srcAnns = await readAnnotations(join(SHARED_DATA, x.source));
      const inside = srcAnns
        .filter((a) => a.sample >= x.start && a.sample < x.start + x.n)
        .map((a) => ({ ...a, sample: a.sample - x.start }));
      const cutAnns = await readAnnotations(fixture(x.path));
      assert.deepEqual(cutAnns.slice(cutAnns.length - inside.length), inside);
      const before = srcAnns.filter((a) => a.symbol === '+' && a.sample < x.start).at(-1);
      if (before) assert.deepEqual(cutAnns[0], { ...before, sample: 0 });
    });
  }

  test('whole records are byte-for-byte copies', async () => {
    for (const r of WHOLE) {
      const [db, name] = r.split('/') as [string, string];
      const srcDir =
        db === 'ptbxl' ? join(SHARED_DATA, 'ptbxl', 'records500', '00000') : join(SHARED_DATA, db);
      for (const ext of ['hea', db === 'ptbxl' ? 'dat' : 'mat']) {
        assert.ok(
          (await readFile(fixture(`${r}.${ext}`))).equals(await readFile(join(srcDir, `${name}.${ext}`))),
          r,
        );
      }
    }
  });
});
