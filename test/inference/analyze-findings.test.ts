/**
 * Issue #9: findings a clinician can trust, end to end through analyze() with the shipped models on
 * committed excerpts: paroxysmal AF as episodes, noise honesty both ways, 12-lead use, paced ECGs,
 * bounded confidence.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Analysis, AnalysisResult } from '../../src/inference/analysis/types.js';
import { analyze } from '../../src/inference/analyze.js';
import type { Ecg } from '../../src/inference/ecg.js';
import { readWfdbRecord } from '../../src/inference/io/record.js';
import { type Engine, loadEngine } from '../../src/inference/model/index.js';
import { FIXTURES, REPO_ROOT } from '../support/shared-data.js';

let engine: Engine;
before(async () => {
  engine = await loadEngine(join(REPO_ROOT, 'models'));
});
after(() => engine?.dispose());

async function analyseFixture(path: string): Promise<AnalysisResult> {
  const { ecg } = await readWfdbRecord(join(FIXTURES, path));
  return analyze(ecg, engine);
}

function ok(r: AnalysisResult): Analysis {
  assert.equal(r.status, 'ok', r.status === 'unable' ? r.reason : '');
  return r as Analysis;
}

const codes = (a: Analysis) => a.findings.map((f) => f.code);

describe('analyze(): findings over time, noise, leads, pacing, confidence (issue #9)', () => {
  it('paroxysmal AF (mitdb 201, 5–9 min: AF, then sinus/nodal, then 37 s of AF) → AF with burden and onset', async () => {
    const a = ok(await analyseFixture('mitdb/mitdb-201-5m-9m'));
    const af = a.findings.find((f) => f.code === 'atrial-fibrillation');
    assert.ok(af, `findings: ${codes(a)}`);
    // Reference: AF 0:00–1:19 and 2:57–3:34 of the excerpt, 116 of 240 s (48 %).
    assert.ok(af.burden! > 0.25 && af.burden! < 0.75, `burden ${af.burden}`);
    assert.ok(af.onset! < 20, `onset ${af.onset}`);
    assert.ok(af.episodes!.length >= 1);
    assert.ok(af.episodes!.every((e) => e.end - e.start >= 30));
    assert.match(af.evidence[0]!, /^burden \d+ % of 4 min analysed, \d episodes?, longest/);
  });

  it('a 12-lead ECG with lead II buried in noise is analysed on its clean leads, not refused', async () => {
    const { ecg } = await readWfdbRecord(join(FIXTURES, 'ptbxl/00003_hr'));
    let seed = 7;
    const noise = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return (seed / 2147483648 - 0.5) * 4; // ±2 mV white noise
    };
    const noisy: Ecg = {
      ...ecg,
      leads: ecg.leads.map((l) =>
        l.name === 'II' ? { ...l, samples: l.samples.map((v) => v + noise()) } : l,
      ),
    };
    const a = ok(await analyze(noisy, engine));
    assert.notEqual(a.lead, 'II');
    assert.ok(a.heartRateBpm! > 50 && a.heartRateBpm! < 90, `rate ${a.heartRateBpm}`);
  });

  it('no finding on any committed excerpt states a confidence of 1.0', async () => {
    for (const path of [
      'mitdb/mitdb-100-0m-5m',
      'mitdb/mitdb-119-21m-24m',
      'mitdb/mitdb-201-1m-4m',
      'ptbxl/00318_hr',
      'cinc2017/A00004',
    ]) {
      const r = await analyseFixture(path);
      if (r.status !== 'ok') continue;
      for (const f of r.findings)
        assert.ok(f.confidence < 1 && f.confidence > 0, `${path} ${f.code} ${f.confidence}`);
    }
  });
});

describe('analyze(): clean fast rhythms are not noise (issue #9 item 2)', () => {
  it('a clean tachycardia (svdb 848, ≈ 145 bpm, every beat normal) → sinus tachycardia, nothing withheld', async () => {
    const a = ok(await analyseFixture('svdb-dev/svdb-dev-848-4m-6m'));
    assert.ok(a.heartRateBpm! > 130 && a.heartRateBpm! < 160, `rate ${a.heartRateBpm}`);
    assert.ok(a.quality.unreadableFraction < 0.05, `unreadable ${a.quality.unreadableFraction}`);
    assert.deepEqual(codes(a), ['sinus-tachycardia']);
  });

  it('fast AF on a clean 12-lead ECG (PTB-XL 00351, ≈ 160 bpm) → AF, not "unable to analyse"', async () => {
    const a = ok(await analyseFixture('ptbxl/00351_hr'));
    assert.ok(a.quality.unreadableFraction < 0.05);
    assert.ok(codes(a).includes('atrial-fibrillation'), `findings: ${codes(a)}`);
  });
});

describe('analyze(): a paced ECG is reported as paced, not as arrhythmias (issue #9 item 3)', () => {
  it('MIT-BIH 102 (paced) → "paced rhythm: not analysed", no PVC, VT or other-rhythm finding', async () => {
    const a = ok(await analyseFixture('mitdb/mitdb-102-600s-615s'));
    assert.deepEqual(codes(a), ['paced-rhythm']);
    assert.match(a.findings[0]!.title, /^Paced rhythm: not analysed/);
    assert.ok(a.limitations.some((l) => /paced rhythm/.test(l)));
    assert.ok(a.findings[0]!.confidence < 1);
  });

  it('non-paced excerpts are not called paced', async () => {
    for (const path of [
      'mitdb/mitdb-119-21m-24m',
      'ptbxl/00003_hr',
      'ptbxl/00351_hr',
      'mitdb/mitdb-100-0m-5m',
    ]) {
      const r = await analyseFixture(path);
      if (r.status === 'ok') assert.ok(!codes(r).includes('paced-rhythm'), `${path}: ${codes(r)}`);
    }
  });
});
