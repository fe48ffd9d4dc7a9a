/**
 * Issue #2 accuracy goals on the full PhysioNet databases (skipped where ../shared/data is absent).
 * The detector has no per-database settings; its one tuned constant was chosen on MIT-BIH DS1 only.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { evaluateQrs } from '../../../src/cli/eval-qrs.js';
import { SHARED_DATA, skipUnlessSharedData } from '../../support/shared-data.js';

describe('QRS detection on PhysioNet databases', { skip: skipUnlessSharedData }, () => {
  it('all 48 MIT-BIH records: Se ≥ 99.7 % and +P ≥ 99.7 %', async () => {
    const report = await evaluateQrs({ db: join(SHARED_DATA, 'mitdb'), records: 'all' });
    assert.equal(report.records.length, 48);
    assert.equal(report.total.tp + report.total.fn, 109494, 'every reference beat is counted');
    assert.ok(report.total.se >= 0.997, `Se ${report.total.se}`);
    assert.ok(report.total.ppv >= 0.997, `+P ${report.total.ppv}`);
  });

  it('nstdb 118 with electrode-motion noise: F1 ≥ 99.5 % at 12 dB, and worse at 0 dB than at 24 dB', async () => {
    const report = await evaluateQrs({ db: join(SHARED_DATA, 'nstdb'), records: '118e24,118e12,118e00' });
    const f1 = (r: { tp: number; fn: number; fp: number }) => (2 * r.tp) / (2 * r.tp + r.fn + r.fp);
    const [e24, e12, e00] = report.records.map(f1);
    assert.ok(e12! >= 0.995, `12 dB F1 ${e12}`);
    assert.ok(e00! < e24!, `0 dB ${e00} vs 24 dB ${e24}`);
  });
});
