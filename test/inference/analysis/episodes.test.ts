import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  applyPlatt,
  calibrateFindings,
  formatConfidence,
  MAX_CONFIDENCE,
} from '../../../src/inference/analysis/calibration.js';
import {
  afEpisodes,
  conductedInAf,
  coveredSeconds,
  episodesOf,
  MIN_AF_EPISODE_S,
} from '../../../src/inference/analysis/episodes.js';
import { deriveFindings } from '../../../src/inference/analysis/findings.js';
import type { RhythmClass, RhythmWindow } from '../../../src/inference/analysis/types.js';

/** Non-overlapping 10-s windows, one class each (probability 0.8 for it, the rest shared). */
function windows(classes: string, step = 10, length = 10): RhythmWindow[] {
  const map: Record<string, RhythmClass> = { N: 'N', A: 'A', O: 'O', '~': '~' };
  return [...classes].map((ch, i) => {
    const c = map[ch]!;
    const probabilities = { N: 0.2 / 3, A: 0.2 / 3, O: 0.2 / 3, '~': 0.2 / 3 };
    probabilities[c] = 0.8;
    return { start: i * step, end: i * step + length, probabilities };
  });
}

describe('AF episodes over time (paroxysmal AF is not averaged away)', () => {
  it('a 40-s AF episode in 30 min of sinus rhythm is a finding with burden, onset and longest episode', () => {
    const w = windows(`${'N'.repeat(100)}AAAA${'N'.repeat(76)}`);
    const af = afEpisodes(w);
    assert.equal(af.episodes.length, 1);
    assert.equal(af.episodes[0]!.start, 1000);
    assert.equal(af.longestSeconds, 40);
    assert.ok(Math.abs(af.burden - 40 / 1800) < 1e-9, `burden ${af.burden}`);
    const findings = deriveFindings({
      beats: [],
      runs: [],
      patterns: [],
      rhythm: { label: 'N', probability: 0.78, windows: w },
      af,
      heartRateBpm: 72,
      rrCv: 0.05,
      durationSeconds: 1800,
    });
    const f = findings.find((x) => x.code === 'atrial-fibrillation');
    assert.ok(f, 'AF finding despite a sinus record average');
    assert.equal(f.onset, 1000);
    assert.match(f.evidence[0]!, /burden 2 % of 30 min analysed, 1 episode, longest 40 s, onset at 00:16:40/);
  });

  it(`an AF stretch shorter than ${MIN_AF_EPISODE_S} s in a long recording is not a finding`, () => {
    assert.equal(afEpisodes(windows(`${'N'.repeat(50)}AA${'N'.repeat(50)}`)).episodes.length, 0);
  });

  it('one window of doubt inside an episode is bridged; two split it', () => {
    assert.deepEqual(
      episodesOf(windows('AAANAAA'), 'A').map((e) => [e.start, e.end]),
      [[0, 70]],
    );
    assert.deepEqual(
      episodesOf(windows('AAANNAAA'), 'A').map((e) => [e.start, e.end]),
      [
        [0, 30],
        [50, 80],
      ],
    );
  });

  it('a 10-s ECG that is AF throughout is an episode (the whole recording is the minimum)', () => {
    const af = afEpisodes(windows('A'));
    assert.equal(af.episodes.length, 1);
    assert.equal(af.burden, 1);
  });

  it('overlapping windows (5-s stride) count their time once', () => {
    assert.equal(coveredSeconds(windows('NNNN', 5, 10)), 25);
  });
});

describe('finding confidence is a bounded, calibrated probability', () => {
  it('never 1.0 and never 0, whatever the raw score or map', () => {
    for (const raw of [0, 1e-12, 0.5, 1 - 1e-12, 1])
      for (const map of [undefined, { a: 1, b: 0 }, { a: 5, b: 3 }, { a: 5, b: -30 }]) {
        const p = applyPlatt(raw, map);
        assert.ok(p <= MAX_CONFIDENCE && p >= 0.01, `${raw} ${JSON.stringify(map)} → ${p}`);
      }
    const [f] = calibrateFindings(
      [{ code: 'frequent-pvcs', title: 'x', confidence: 1, evidence: [], saliency: [] }],
      { 'frequent-pvcs': { a: 2, b: 1 } },
    );
    assert.ok(f!.confidence < 1);
  });

  it('a Platt map moves the score (a = 1, b = -1 lowers it by one logit)', () => {
    const p = applyPlatt(0.5, { a: 1, b: -1 });
    assert.ok(Math.abs(p - 1 / (1 + Math.E)) < 1e-12);
  });

  it('is shown rounded and capped: "> 99 %", never "100 %"', () => {
    assert.equal(formatConfidence(0.999), '> 99 %');
    assert.equal(formatConfidence(1), '> 99 %');
    assert.equal(formatConfidence(0.994), '99 %');
    assert.equal(formatConfidence(0.5), '50 %');
    assert.equal(formatConfidence(0.001), '< 1 %');
  });
});

describe('beats in AF are conducted beats, never premature atrial ones', () => {
  const beat = (time: number, label: string) => ({ time, label });
  it('S inside an AF episode becomes N; S outside, and V anywhere, stay', () => {
    const beats = [beat(5, 'S'), beat(20, 'S'), beat(25, 'V'), beat(40, 'S'), beat(70, 'S')];
    const out = conductedInAf(beats, [{ start: 10, end: 45 }]);
    assert.deepEqual(
      out.map((b) => b.label),
      ['S', 'N', 'V', 'N', 'S'],
    );
    assert.equal(beats[1]!.label, 'S', 'the input is not changed');
  });
  it('without AF episodes the beats come back unchanged', () => {
    const beats = [beat(1, 'S'), beat(2, 'N')];
    assert.equal(conductedInAf(beats, []), beats);
  });
});
