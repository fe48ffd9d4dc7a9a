/**
 * Issue #10: the shipped beat model on a 128-Hz SVDB recording (another recorder than MIT-BIH's) with a
 * long supraventricular run, end to end through analyze() and the real ONNX sessions.
 *
 * The excerpt (svdb-dev 809, 16–19 min) is from a record the shipped model was trained on (svdb-dev is
 * training data since issue #10), so this is a behaviour test of the shipped pipeline — the 128-Hz path,
 * the per-lead vote over both leads, run and PAC findings — not an evaluation; out-of-fold figures are in
 * models/MODEL_CARD.md. Reference: 105 consecutive supraventricular beats from 01:11 of the excerpt
 * (17:11 of the record), 112 S beats in all, no ventricular beat.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Analysis } from '../../src/inference/analysis/types.js';
import { analyze } from '../../src/inference/analyze.js';
import { readWfdbRecord } from '../../src/inference/io/record.js';
import { type Engine, loadEngine } from '../../src/inference/model/index.js';
import { FIXTURES, REPO_ROOT } from '../support/shared-data.js';

let engine: Engine;
let a: Analysis;
before(async () => {
  engine = await loadEngine(join(REPO_ROOT, 'models'));
  const { ecg } = await readWfdbRecord(join(FIXTURES, 'svdb-dev/svdb-dev-809-16m-19m'));
  const r = await analyze(ecg, engine);
  assert.equal(r.status, 'ok', r.status === 'unable' ? r.reason : '');
  a = r as Analysis;
});
after(() => engine?.dispose());

describe('beat model on a 128-Hz SVDB excerpt with a long SVT run (issue #10)', () => {
  it('reads the run as a supraventricular tachycardia run, most of it in one piece', () => {
    const svt = a.findings.find((f) => f.code === 'supraventricular-tachycardia-run');
    assert.ok(svt, `findings: ${a.findings.map((f) => f.code)}`);
    const longest = /longest (\d+) beats/.exec(svt.evidence.join(' '));
    assert.ok(longest, svt.evidence.join(' | '));
    assert.ok(Number(longest[1]) >= 50, `longest run ${longest[1]} beats (reference 105)`);
    // the run starts at 01:11 of the excerpt
    assert.match(svt.evidence.join(' '), /first at 00:01:1\d/);
  });

  it('counts most supraventricular beats and invents no ventricular ones', () => {
    const s = a.beats.filter((b) => b.label === 'S').length;
    const v = a.beats.filter((b) => b.label === 'V').length;
    assert.ok(s >= 80 && s <= 140, `${s} S beats (reference 112)`);
    assert.ok(v <= 2, `${v} V beats (reference 0)`);
    const ventricular = a.findings.filter(
      (f) => /ventricular|pvc/i.test(f.code) && f.code !== 'supraventricular-tachycardia-run',
    );
    assert.deepEqual(
      ventricular.map((f) => f.code),
      [],
    );
  });

  it('averages the two leads (the model manifest asks for a two-lead vote)', () => {
    assert.equal(engine.beat.manifest.leadVote, 2);
  });
});
