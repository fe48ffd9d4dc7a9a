/**
 * analyze() end to end on committed excerpts with the shipped ONNX models (real sessions, CPU).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Analysis, AnalysisResult } from '../../src/inference/analysis/types.js';
import { analyze } from '../../src/inference/analyze.js';
import type { Ecg } from '../../src/inference/ecg.js';
import { readWfdbRecord } from '../../src/inference/io/record.js';
import { type Engine, loadEngine } from '../../src/inference/model/index.js';
import { FIXTURES, REPO_ROOT } from '../support/shared-data.js';

const MODELS = join(REPO_ROOT, 'models');
let engine: Engine;

before(async () => {
  engine = await loadEngine(MODELS);
});
after(() => engine?.dispose());

async function run(path: string): Promise<Analysis> {
  const { ecg } = await readWfdbRecord(join(FIXTURES, path));
  const r = await analyze(ecg, engine);
  assert.equal(r.status, 'ok', r.status === 'unable' ? r.reason : '');
  return r as Analysis;
}

const codes = (a: Analysis) => a.findings.map((f) => f.code);

describe('analyze() on committed excerpts', () => {
  it('normal sinus rhythm (mitdb 100): sinus, no card-worthy finding', async () => {
    const a = await run('mitdb/mitdb-100-0m-5m');
    assert.equal(a.rhythm.label, 'N');
    assert.deepEqual(codes(a), ['sinus-rhythm']);
    assert.ok(a.heartRateBpm! > 60 && a.heartRateBpm! < 90, `rate ${a.heartRateBpm}`);
    assert.ok(a.beats.length > 360 && a.beats.length < 380);
    assert.equal(a.models.length, 3);
    assert.ok(a.models.every((m) => m.provider === 'cpu' && m.version));
  });

  it('atrial fibrillation (mitdb 201): AF with RR-irregularity evidence and saliency', async () => {
    const a = await run('mitdb/mitdb-201-1m-4m');
    const af = a.findings.find((f) => f.code === 'atrial-fibrillation');
    assert.ok(af, `findings: ${codes(a)}`);
    assert.ok(af.confidence > 0.5 && af.confidence < 1, `confidence ${af.confidence}`);
    assert.equal(af.title, 'Atrial fibrillation or flutter');
    assert.ok(
      af.evidence.some((e) => /irregularly irregular RR, RR coefficient of variation 0\.\d\d/.test(e)),
    );
    // The whole 3-min excerpt is AF: one episode, burden ≈ 100 %, onset at the start.
    assert.ok(af.burden! > 0.9, `burden ${af.burden}`);
    assert.equal(af.episodes?.length, 1);
    assert.equal(af.onset, 0);
    assert.ok(af.saliency.length > 0 && af.saliency.every((s) => s.end > s.start && s.start >= 0));
  });

  it('ventricular bigeminy (mitdb 119): bigeminy with its cycles and onset', async () => {
    const a = await run('mitdb/mitdb-119-21m-24m');
    const big = a.findings.find((f) => f.code === 'ventricular-bigeminy');
    assert.ok(big, `findings: ${codes(a)}`);
    assert.match(big.evidence[0]!, /\d+ bigeminy cycles in \d+ episodes?, first at 00:\d\d:\d\d/);
    assert.ok(a.counts.V > 20, `${a.counts.V} V beats`);
  });

  it('CinC 2017 AF and normal recordings at 300 Hz', async () => {
    assert.equal((await run('cinc2017/A00004')).rhythm.label, 'A');
    assert.equal((await run('cinc2017/A00007')).rhythm.label, 'N');
  });

  it('12-lead PTB-XL at 500 Hz: AF record → AF', async () => {
    const a = await run('ptbxl/00318_hr');
    assert.equal(a.rhythm.label, 'A');
    assert.equal(a.lead, 'II');
  });

  it('the 0 dB noise excerpt is "unable to analyse: poor signal quality" with the fraction, never "no finding"', async () => {
    const { ecg } = await readWfdbRecord(join(FIXTURES, 'nstdb/nstdb-118e00-5m-7m'));
    const r = await analyze(ecg, engine);
    assert.equal(r.status, 'unable');
    assert.equal(r.status === 'unable' && r.code, 'poor-signal-quality');
    assert.ok(r.status === 'unable' && r.fraction! > 0.3, `fraction ${r.status === 'unable' && r.fraction}`);
    assert.match(
      r.status === 'unable' ? r.reason : '',
      /^poor signal quality: \d+ % of the recording is noise/,
    );
  });
});

describe('analyze() on bad input: an explicit "unable to analyse" with the reason', () => {
  const base = (samples: Float32Array, fs = 360): Ecg => ({
    leads: [{ name: 'II', samples }],
    fs,
    sourceId: 'test',
  });
  const sine = (n: number, fs: number) =>
    Float32Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * i) / fs));
  const cases: Array<[string, Ecg, AnalysisResult['status'], string]> = [
    ['too short', base(sine(360 * 2, 360)), 'unable', 'too-short'],
    ['flat line', base(new Float32Array(360 * 20)), 'unable', 'flat-line'],
    [
      'NaN samples',
      base(sine(360 * 20, 360).map((v, i) => (i === 1000 ? Number.NaN : v))),
      'unable',
      'not-finite',
    ],
    ['absurd rate', base(sine(100, 5), 5), 'unable', 'bad-rate'],
    ['no leads', { leads: [], fs: 360, sourceId: 'test' }, 'unable', 'no-leads'],
  ];
  for (const [name, ecg, status, code] of cases) {
    it(name, async () => {
      const r = await analyze(ecg, engine);
      assert.equal(r.status, status);
      assert.equal(r.status === 'unable' ? r.code : '', code);
      assert.ok(r.status === 'unable' && r.reason.length > 10);
    });
  }
});

describe('execution provider', () => {
  it('asking for CUDA without its libraries falls back to CPU with a warning, and says so', async () => {
    const warnings: string[] = [];
    const e = await loadEngine(MODELS, { provider: 'cuda', warn: (m) => warnings.push(m) });
    try {
      if (e.beat.provider === 'cpu') {
        assert.ok(warnings.length > 0);
        assert.match(warnings[0]!, /CUDA execution provider unavailable .*running on CPU/);
      } else {
        assert.equal(e.beat.provider, 'cuda'); // a machine with CUDA libraries runs there
      }
    } finally {
      await e.dispose();
    }
  });
});
