import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  type AnnotationToWrite,
  encodeAnnotations,
  parseAnnotations,
} from '../../../src/inference/io/wfdb-annotation.js';
import { FIXTURES, SHARED_DATA, skipUnlessSharedData } from '../../support/shared-data.js';

const words = (buf: Uint8Array) =>
  Array.from({ length: buf.length / 2 }, (_, k) => buf[2 * k]! | (buf[2 * k + 1]! << 8));

describe('annotation encode → parse', () => {
  const anns: AnnotationToWrite[] = [
    { sample: 18, symbol: '+', aux: '(N' },
    { sample: 77, symbol: 'N' },
    { sample: 1100, symbol: 'V' }, // gap 1023: still fits the 10-bit interval
    { sample: 2124, symbol: 'N' }, // gap 1024: needs SKIP
    { sample: 2124, symbol: '~', subtype: -1 }, // same sample, negative subtype
    { sample: 102124, symbol: 'A', chan: 1, num: 3 }, // gap of 100000 uses SKIP's high word
    { sample: 102200, symbol: 'N', chan: 1, num: 3 },
    { sample: 102300, symbol: '+', aux: '(AFIB' }, // odd aux length with its NUL: padded
    { sample: 700000, symbol: '"', aux: 'comment with spaces' },
  ];

  test('round trip keeps sample, symbol, subtype, chan, num and aux', () => {
    const parsed = parseAnnotations(encodeAnnotations(anns), 'mem.atr');
    assert.deepEqual(
      parsed.map((a) => ({
        sample: a.sample,
        symbol: a.symbol,
        aux: a.aux,
        subtype: a.subtype,
        chan: a.chan,
        num: a.num,
      })),
      anns.map((a) => ({ aux: '', subtype: 0, chan: 0, num: 0, ...a })),
    );
  });

  test('a gap over 1023 samples is written as SKIP (59) with a high-word-first 32-bit interval', () => {
    const w = words(encodeAnnotations([{ sample: 100000, symbol: 'N' }]));
    assert.deepEqual(w, [59 << 10, 100000 >>> 16, 100000 & 0xffff, (1 << 10) | 0, 0]);
    const fits = words(encodeAnnotations([{ sample: 1023, symbol: 'N' }]));
    assert.deepEqual(fits, [(1 << 10) | 1023, 0]);
  });

  test('AUX (63) carries the byte count, NUL-terminated and padded to even', () => {
    const buf = encodeAnnotations([{ sample: 0, symbol: '+', aux: '(N' }]);
    assert.deepEqual(words(buf.subarray(0, 4)), [28 << 10, (63 << 10) | 3]);
    assert.deepEqual([...buf.subarray(4, 8)], [0x28, 0x4e, 0, 0]);
    assert.equal(buf.length, 10);
  });

  test('chan and num are written only when they change, as readers carry them over', () => {
    const w = words(
      encodeAnnotations([
        { sample: 1, symbol: 'N', chan: 1 },
        { sample: 2, symbol: 'N', chan: 1 },
      ]),
    );
    assert.deepEqual(w, [(1 << 10) | 1, (62 << 10) | 1, (1 << 10) | 1, 0]);
  });

  test('unsorted samples, unknown symbols and oversize fields are refused', () => {
    assert.throws(
      () =>
        encodeAnnotations([
          { sample: 5, symbol: 'N' },
          { sample: 4, symbol: 'N' },
        ]),
      RangeError,
    );
    assert.throws(() => encodeAnnotations([{ sample: 5, symbol: 'XYZ' }]), RangeError);
    assert.throws(() => encodeAnnotations([{ sample: 5, symbol: 'N', subtype: 600 }]), RangeError);
    assert.throws(() => encodeAnnotations([{ sample: 5, symbol: '"', aux: 'x'.repeat(300) }]), RangeError);
  });

  test('an empty list is just the end-of-file word', () => {
    assert.deepEqual([...encodeAnnotations([])], [0, 0]);
    assert.deepEqual(parseAnnotations(encodeAnnotations([]), 'empty.atr'), []);
  });
});

describe('annotation files re-encode to what they hold', () => {
  test('fixtures: encode(parse(file)) is byte-identical', async () => {
    for (const db of ['mitdb', 'nstdb']) {
      for (const f of (await readdir(join(FIXTURES, db))).filter((n) => n.endsWith('.atr'))) {
        const buf = await readFile(join(FIXTURES, db, f));
        assert.ok(encodeAnnotations(parseAnnotations(buf, f)).equals(buf), f);
      }
    }
  });

  test('mitdb: parse(encode(parse(file))) equals parse(file) for all 48', {
    skip: skipUnlessSharedData,
  }, async () => {
    const files = (await readdir(join(SHARED_DATA, 'mitdb'))).filter((n) => n.endsWith('.atr'));
    assert.equal(files.length, 48);
    for (const f of files) {
      const parsed = parseAnnotations(await readFile(join(SHARED_DATA, 'mitdb', f)), f);
      assert.deepEqual(parseAnnotations(encodeAnnotations(parsed), f), parsed, f);
    }
  });
});
