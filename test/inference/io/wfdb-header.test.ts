import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { readWfdbHeader } from '../../../src/inference/io/record.js';
import { parseWfdbHeader } from '../../../src/inference/io/wfdb-header.js';
import { FIXTURES, SHARED_DATA, skipUnlessSharedData } from '../../support/shared-data.js';

describe('WFDB header of the PhysioNet records', { skip: skipUnlessSharedData }, () => {
  test('mitdb/100: two 360 Hz signals, 650000 samples, format 212, MLII and V5', async () => {
    const text = await readFile(join(SHARED_DATA, 'mitdb', '100.hea'), 'latin1');
    assert.ok(text.includes('\r\n'), 'MIT-BIH headers carry CRLF endings');
    const h = await readWfdbHeader(join(SHARED_DATA, 'mitdb', '100'));
    assert.equal(h.recordName, '100');
    assert.equal(h.nSignals, 2);
    assert.equal(h.fs, 360);
    assert.equal(h.nSamples, 650000);
    assert.deepEqual(
      h.signals.map((s) => [s.fileName, s.format, s.gain, s.baseline, s.units, s.adcResolution, s.adcZero]),
      [
        ['100.dat', 212, 200, 1024, 'mV', 11, 1024],
        ['100.dat', 212, 200, 1024, 'mV', 11, 1024],
      ],
    );
    assert.deepEqual(
      h.signals.map((s) => s.description),
      ['MLII', 'V5'],
      'no CR left in the last field',
    );
    assert.deepEqual(
      h.signals.map((s) => s.initialValue),
      [995, 1011],
    );
    assert.deepEqual(
      h.signals.map((s) => s.checksum),
      [-22131, 20052],
    );
    assert.deepEqual(h.comments, ['69 M 1085 1629 x1', 'Aldomet, Inderal']);
    assert.ok(h.signals.every((s) => !s.uncalibrated && s.byteOffset === 0 && s.samplesPerFrame === 1));
  });

  test('ptbxl 00001_hr: LF header, 12 leads at 500 Hz, gain 1000.0(0)/mV', async () => {
    const base = join(SHARED_DATA, 'ptbxl', 'records500', '00000', '00001_hr');
    const text = await readFile(`${base}.hea`, 'latin1');
    assert.ok(!text.includes('\r'), 'PTB-XL headers carry LF endings');
    const h = await readWfdbHeader(base);
    assert.equal(h.nSignals, 12);
    assert.equal(h.fs, 500);
    assert.equal(h.nSamples, 5000);
    assert.deepEqual(
      h.signals.map((s) => s.description),
      ['I', 'II', 'III', 'AVR', 'AVL', 'AVF', 'V1', 'V2', 'V3', 'V4', 'V5', 'V6'],
    );
    assert.ok(
      h.signals.every((s) => s.format === 16 && s.gain === 1000 && s.baseline === 0 && s.units === 'mV'),
    );
    assert.equal(h.signals[0]!.initialValue, -115);
    assert.equal(h.signals[0]!.checksum, 13047);
    assert.equal(h.signals[2]!.checksum, 64050, 'PTB-XL writes checksums unsigned');
  });

  test('cinc2017 A00003: "16+24" names a byte offset into the .mat file', async () => {
    const h = await readWfdbHeader(join(SHARED_DATA, 'cinc2017', 'A00003.hea'));
    assert.equal(h.nSignals, 1);
    assert.equal(h.fs, 300);
    assert.equal(h.nSamples, 18000);
    assert.equal(h.baseTime, '12:04:05');
    assert.equal(h.baseDate, '1/04/2000');
    const s = h.signals[0]!;
    assert.equal(s.fileName, 'A00003.mat');
    assert.equal(s.format, 16);
    assert.equal(s.byteOffset, 24);
    assert.equal(s.gain, 1000);
    assert.equal(s.units, 'mV');
    assert.equal(s.description, 'ECG');
    assert.equal(s.checksum, 0, 'CinC 2017 headers carry no checksum');
  });

  test('nstdb 118e00: format 16 with gain(baseline) "200(1024)" and ADC zero 0', async () => {
    const h = await readWfdbHeader(join(SHARED_DATA, 'nstdb', '118e00'));
    assert.deepEqual(
      h.signals.map((s) => [s.format, s.gain, s.baseline, s.adcZero, s.uncalibrated, s.description]),
      [
        [16, 200, 1024, 0, false, 'MLII'],
        [16, 200, 1024, 0, false, 'V1'],
      ],
    );
    assert.deepEqual(
      h.signals.map((s) => [s.initialValue, s.checksum]),
      [
        [-167, 29505],
        [-103, -16890],
      ],
    );
  });

  test('nstdb bw: gain 0 means uncalibrated (read as the default 200)', async () => {
    const h = await readWfdbHeader(join(SHARED_DATA, 'nstdb', 'bw'));
    assert.ok(h.signals.every((s) => s.uncalibrated && s.gain === 200 && s.adcResolution === 12));
    assert.deepEqual(
      h.signals.map((s) => s.description),
      ['noise1', 'noise2'],
    );
  });
});

describe('WFDB header of the committed fixtures', () => {
  test('mitdb-100-0m-5m: CRLF, 2 signals, 360 Hz, 108000 samples, gain 200, baseline 1024', async () => {
    const base = join(FIXTURES, 'mitdb', 'mitdb-100-0m-5m');
    assert.ok((await readFile(`${base}.hea`, 'latin1')).includes('\r\n'));
    const h = await readWfdbHeader(base);
    assert.equal(h.nSignals, 2);
    assert.equal(h.fs, 360);
    assert.equal(h.nSamples, 108000);
    assert.deepEqual(
      h.signals.map((s) => [
        s.format,
        s.gain,
        s.baseline,
        s.units,
        s.description,
        s.initialValue,
        s.checksum,
      ]),
      [
        [212, 200, 1024, 'mV', 'MLII', 995, -20101],
        [212, 200, 1024, 'mV', 'V5', 1011, -20894],
      ],
    );
    assert.equal(h.comments[0], '69 M 1085 1629 x1');
  });

  test('nstdb-118e00-5m-7m: format 16, gain(baseline) 200(1024)', async () => {
    const h = await readWfdbHeader(join(FIXTURES, 'nstdb', 'nstdb-118e00-5m-7m'));
    assert.deepEqual(
      h.signals.map((s) => [s.format, s.gain, s.baseline, s.adcZero, s.description]),
      [
        [16, 200, 1024, 0, 'MLII'],
        [16, 200, 1024, 0, 'V1'],
      ],
    );
    assert.equal(h.nSamples, 43200);
  });

  test('ptbxl 00003_hr: LF header, 12 leads', async () => {
    const base = join(FIXTURES, 'ptbxl', '00003_hr');
    assert.ok(!(await readFile(`${base}.hea`, 'latin1')).includes('\r'));
    const h = await readWfdbHeader(base);
    assert.equal(h.nSignals, 12);
    assert.equal(h.fs, 500);
    assert.ok(h.signals.every((s) => s.format === 16 && s.gain === 1000 && s.units === 'mV'));
  });

  test('cinc2017 A00004: "16+24" offset header', async () => {
    const h = await readWfdbHeader(join(FIXTURES, 'cinc2017', 'A00004'));
    const s = h.signals[0]!;
    assert.deepEqual(
      [s.fileName, s.format, s.byteOffset, s.gain, s.checksum],
      ['A00004.mat', 16, 24, 1000, 0],
    );
    assert.equal(h.nSamples, 9000);
  });
});

describe('parseWfdbHeader on text', () => {
  test('gain 0 and an absent gain are both uncalibrated; baseline defaults to ADC zero', () => {
    const h = parseWfdbHeader('r 3 250\nr.dat 212 0 12 7\nr.dat 212\nr.dat 212 100/uV 12 5\n', 'r.hea');
    assert.deepEqual(
      h.signals.map((s) => [s.gain, s.uncalibrated, s.baseline, s.units]),
      [
        [200, true, 7, 'mV'],
        [200, true, 0, 'mV'],
        [100, false, 5, 'uV'],
      ],
    );
    assert.equal(h.nSamples, undefined);
  });

  test('format modifiers: samples per frame, skew and byte offset', () => {
    const h = parseWfdbHeader('r 1 1000/500(3) 10\r\nr.dat 16x2:3+512 200\r\n', 'r.hea');
    const s = h.signals[0]!;
    assert.equal(h.fs, 1000);
    assert.deepEqual([s.format, s.samplesPerFrame, s.skew, s.byteOffset], [16, 2, 3, 512]);
  });

  test('description may contain spaces; comments are collected', () => {
    const h = parseWfdbHeader(
      '# first\nr 1 360 10\nr.dat 16 200 16 0 1 2 0 lead II, modified\n#  age 60\n',
      'r.hea',
    );
    assert.equal(h.signals[0]!.description, 'lead II, modified');
    assert.deepEqual(h.comments, ['first', 'age 60']);
  });
});
