import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readAnnotations, readWfdbRecord } from '../../../src/inference/io/record.js';
import {
  encodeSignalFile,
  formatWfdbHeader,
  type RecordToWrite,
  writeAnnotationFile,
  writeWfdbRecord,
} from '../../../src/inference/io/wfdb-write.js';
import { FIXTURES, SHARED_DATA, skipUnlessSharedData } from '../../support/shared-data.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wfdb-write-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A ramp covering the whole digital range of the format, so sign and nibble packing are exercised. */
function ramp(n: number, min: number, max: number, phase: number): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = min + ((i * 37 + phase) % (max - min + 1));
  return out;
}

function record(format: 16 | 212, nSig: number, n: number): RecordToWrite {
  const [min, max] = format === 212 ? [-2048, 2047] : [-32768, 32767];
  return {
    recordName: `r${format}_${nSig}_${n}`,
    fs: 250,
    format,
    signals: Array.from({ length: nSig }, (_, i) => ({
      description: `lead ${i}`,
      gain: 200 + i,
      baseline: i - 3,
      units: 'mV',
    })),
    digital: Array.from({ length: nSig }, (_, i) => ramp(n, min, max, 1000 * i)),
    comments: ['written by a test'],
  };
}

describe('WFDB record write → read', () => {
  for (const [format, nSig, n] of [
    [212, 2, 5000],
    [212, 1, 7], // odd number of samples: the last one takes 2 bytes
    [212, 3, 9],
    [16, 2, 5000],
    [16, 12, 31],
  ] as const) {
    test(`format ${format}, ${nSig} signals x ${n}: samples, calibration and checksums survive exactly`, async () => {
      const rec = record(format, nSig, n);
      await writeWfdbRecord(dir, rec);
      const back = await readWfdbRecord(join(dir, rec.recordName));
      assert.equal(back.header.fs, 250);
      assert.equal(back.header.nSamples, n);
      assert.deepEqual(back.digital, rec.digital);
      assert.ok(back.checksumOk.every(Boolean));
      back.header.signals.forEach((s, i) => {
        assert.equal(s.format, format);
        assert.equal(s.initialValue, rec.digital[i]![0]);
        assert.equal(s.gain, rec.signals[i]!.gain);
        assert.equal(s.baseline, rec.signals[i]!.baseline);
        assert.equal(s.description, rec.signals[i]!.description);
      });
      assert.deepEqual(back.header.comments, ['written by a test']);
      const bytes = await readFile(join(dir, `${rec.recordName}.dat`));
      assert.equal(bytes.length, Math.ceil(n * nSig * (format === 212 ? 1.5 : 2)));
    });
  }

  test('format 212 packs two samples in three bytes as signal(5) describes', () => {
    const rec = record(212, 2, 1);
    const bytes = encodeSignalFile({ ...rec, digital: [Int32Array.of(0x123), Int32Array.of(-2)] });
    // s0 = 0x123, s1 = 0xffe: byte 0 = low 8 bits of s0, byte 1 = high nibble of s1 | high nibble of s0.
    assert.deepEqual([...bytes], [0x23, 0xf1, 0xfe]);
  });

  test('an uncalibrated signal is written with gain 0 and reads back uncalibrated', async () => {
    const rec: RecordToWrite = {
      ...record(212, 1, 4),
      recordName: 'uncal',
      signals: [{ description: 'noise1', gain: 200, uncalibrated: true, baseline: 0, adcResolution: 12 }],
    };
    assert.match(formatWfdbHeader(rec), /^uncal\.dat 212 0\(0\)\/mV 12 0 /m);
    await writeWfdbRecord(dir, rec);
    assert.equal((await readWfdbRecord(join(dir, 'uncal'))).header.signals[0]!.uncalibrated, true);
  });

  test('CRLF line endings and base time/date when asked', () => {
    const text = formatWfdbHeader({
      ...record(16, 1, 2),
      lineEnding: '\r\n',
      baseTime: '12:04:05',
      baseDate: '1/04/2000',
    });
    assert.ok(text.startsWith('r16_1_2 1 250 2 12:04:05 1/04/2000\r\n'));
    assert.ok(!/[^\r]\n/.test(text));
  });

  test('values outside the format, ragged signals and multi-line fields are refused', () => {
    const rec = record(212, 1, 2);
    assert.throws(() => encodeSignalFile({ ...rec, digital: [Int32Array.of(0, 2048)] }), RangeError);
    assert.throws(
      () => encodeSignalFile({ ...record(16, 2, 3), digital: [new Int32Array(3), new Int32Array(2)] }),
      RangeError,
    );
    assert.throws(() => formatWfdbHeader({ ...rec, comments: ['two\nlines'] }), RangeError);
    assert.throws(() => formatWfdbHeader({ ...rec, recordName: '../escape' }), RangeError);
  });

  test('annotations written next to a record read back', async () => {
    const file = await writeAnnotationFile(join(dir, 'r212_2_5000'), 'atr', [
      { sample: 10, symbol: '+', aux: '(AFIB' },
      { sample: 4000, symbol: 'N' },
    ]);
    assert.equal(file, join(dir, 'r212_2_5000.atr'));
    const anns = await readAnnotations(join(dir, 'r212_2_5000'));
    assert.deepEqual(
      anns.map((a) => [a.sample, a.symbol, a.aux]),
      [
        [10, '+', '(AFIB'],
        [4000, 'N', ''],
      ],
    );
  });
});

describe('rewriting real records gives their signal files byte for byte', () => {
  const rewrite = async (path: string, name: string) => {
    const rec = await readWfdbRecord(path);
    const format = rec.header.signals[0]!.format as 16 | 212;
    const written = await writeWfdbRecord(dir, {
      recordName: name,
      fs: rec.header.fs,
      format,
      signals: rec.header.signals,
      digital: rec.digital,
      comments: rec.header.comments,
      lineEnding: '\r\n',
    });
    return {
      original: await readFile(`${path}.dat`),
      copy: await readFile(written.signal),
      header: written.header,
    };
  };

  test('fixture mitdb-100-0m-5m (format 212): .dat and .hea identical', async () => {
    const base = join(FIXTURES, 'mitdb', 'mitdb-100-0m-5m');
    const { original, copy, header } = await rewrite(base, 'mitdb-100-0m-5m');
    assert.ok(copy.equals(original));
    assert.equal(await readFile(header, 'latin1'), await readFile(`${base}.hea`, 'latin1'));
  });

  test('fixture nstdb-118e00-5m-7m (format 16): .dat identical', async () => {
    const { original, copy } = await rewrite(join(FIXTURES, 'nstdb', 'nstdb-118e00-5m-7m'), 'nst');
    assert.ok(copy.equals(original));
  });

  test('mitdb/100 and nstdb/118e00 in full', { skip: skipUnlessSharedData }, async () => {
    for (const [path, name] of [
      [join(SHARED_DATA, 'mitdb', '100'), 'full100'],
      [join(SHARED_DATA, 'nstdb', '118e00'), 'full118e00'],
    ] as const) {
      const { original, copy } = await rewrite(path, name);
      assert.ok(copy.equals(original), path);
    }
  });
});
