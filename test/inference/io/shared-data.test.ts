/**
 * Every record of ../shared/data reads, and agrees with what its header says (first value and
 * 16-bit checksum per signal). Figures are those of ../shared/data/README.md.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readAnnotations, readWfdbRecord, type WfdbRecord } from '../../../src/inference/io/record.js';
import { type Annotation, BEAT_SYMBOLS } from '../../../src/inference/io/wfdb-annotation.js';
import { decodeSignalFile, wfdbChecksum } from '../../../src/inference/io/wfdb-signal.js';
import { SHARED_DATA, skipUnlessSharedData } from '../../support/shared-data.js';

async function recordsIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.hea')).map((f) => join(dir, f.slice(0, -4)));
}

/** Run `fn` over `items`, `width` at a time (file reads overlap, decoding stays on one thread). */
async function inBatches<T>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

function assertMatchesHeader(rec: WfdbRecord, where: string): void {
  rec.header.signals.forEach((spec, i) => {
    const d = rec.digital[i]!;
    assert.equal(d.length, rec.header.nSamples, `${where} signal ${i} length`);
    assert.equal(d[0], spec.initialValue, `${where} signal ${i} first value`);
    assert.ok(spec.checksum !== undefined, `${where} signal ${i} has a checksum`);
    assert.equal((wfdbChecksum(d) - spec.checksum) & 0xffff, 0, `${where} signal ${i} checksum`);
  });
  assert.ok(rec.checksumOk.every(Boolean), `${where} checksumOk`);
}

describe('every record in ../shared/data', { skip: skipUnlessSharedData }, () => {
  test('mitdb: 48 records, 650000 samples x 2, first values and checksums as in the header', async () => {
    const records = await recordsIn(join(SHARED_DATA, 'mitdb'));
    assert.equal(records.length, 48);
    await inBatches(records, 8, async (r) => {
      const rec = await readWfdbRecord(r);
      assert.equal(rec.ecg.leads.length, 2);
      assert.equal(rec.ecg.fs, 360);
      assertMatchesHeader(rec, r);
    });
  });

  test('nstdb: 5 records (212 and 16, calibrated and not) match their headers', async () => {
    const records = await recordsIn(join(SHARED_DATA, 'nstdb'));
    assert.equal(records.length, 5);
    for (const r of records) assertMatchesHeader(await readWfdbRecord(r), r);
  });

  test('ptbxl: 100 records of 12 x 5000 samples match their headers', async () => {
    const records = await recordsIn(join(SHARED_DATA, 'ptbxl', 'records500', '00000'));
    assert.equal(records.length, 100);
    await inBatches(records, 16, async (r) => {
      const rec = await readWfdbRecord(r);
      assert.equal(rec.ecg.leads.length, 12);
      assertMatchesHeader(rec, r);
    });
  });

  // CinC 2017 headers carry checksum 0 and, in a few hundred files, a wrong first value (data
  // README), so the check here is that both ways of reading the .mat give the same samples.
  test('cinc2017: 5543 records; the MAT v4 path equals the WFDB "16+24" byte-offset path', async () => {
    const records = await recordsIn(join(SHARED_DATA, 'cinc2017'));
    assert.equal(records.length, 5543);
    await inBatches(records, 64, async (r) => {
      const rec = await readWfdbRecord(r);
      const spec = rec.header.signals[0]!;
      assert.equal(spec.byteOffset, 24, r);
      const raw = await readFile(join(SHARED_DATA, 'cinc2017', spec.fileName));
      const viaOffset = decodeSignalFile(raw, rec.header.signals, rec.header.nSamples, r).digital[0]!;
      assert.equal(rec.digital[0]!.length, rec.header.nSamples, r);
      assert.deepEqual(rec.digital[0], viaOffset, r);
    });
  });
});

describe('mitdb reference annotations', { skip: skipUnlessSharedData }, () => {
  const all = new Map<string, Annotation[]>();
  const load = async () => {
    if (all.size > 0) return all;
    for (const r of await recordsIn(join(SHARED_DATA, 'mitdb')))
      all.set(r.slice(-3), await readAnnotations(r));
    return all;
  };
  const auxOf = (anns: readonly Annotation[]) =>
    new Set(anns.filter((a) => a.symbol === '+').map((a) => a.aux));

  test('record 100 has 2273 beat annotations, all with known beat labels', async () => {
    const anns = (await load()).get('100')!;
    const beats = anns.filter((a) => BEAT_SYMBOLS.has(a.symbol));
    assert.equal(beats.length, 2273);
    assert.deepEqual(new Set(beats.map((b) => b.symbol)), new Set(['N', 'A', 'V']));
    assert.equal(anns.length - beats.length, 1, 'one rhythm annotation');
    assert.ok(anns.every((a, i) => i === 0 || a.sample >= anns[i - 1]!.sample));
    assert.ok(anns.every((a) => a.sample >= 0 && a.sample < 650000));
  });

  test('database totals: 112647 annotations, 109494 beat labels', async () => {
    let total = 0;
    let beats = 0;
    for (const anns of (await load()).values()) {
      total += anns.length;
      beats += anns.filter((a) => BEAT_SYMBOLS.has(a.symbol)).length;
    }
    assert.equal(total, 112647);
    assert.equal(beats, 109494);
  });

  test('rhythm changes carry the rhythm in aux: (AFIB in 201 and 203, (VFL in 207', async () => {
    const a = await load();
    assert.ok(auxOf(a.get('201')!).has('(AFIB'));
    assert.ok(auxOf(a.get('203')!).has('(AFIB'));
    assert.ok(auxOf(a.get('207')!).has('(VFL'));
    assert.ok(auxOf(a.get('119')!).has('(B'));
    for (const [r, anns] of a) {
      for (const ann of anns.filter((x) => x.symbol === '+'))
        assert.match(ann.aux, /^\([A-Z]+$/, `${r} rhythm aux`);
    }
  });

  test('signal-quality "~" annotations exist, with a subtype saying which channels are noisy', async () => {
    const quality = (await load()).get('105')!.filter((x) => x.symbol === '~');
    assert.equal(quality.length, 88);
    assert.deepEqual(new Set(quality.map((q) => q.subtype)), new Set([-1, 0, 1, 2, 3]));
  });
});
