import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type FindingsRecordReport, formatFindingsReport } from '../../src/cli/eval-findings.js';
import {
  parseScpCodes,
  ptbxlReferenceFindings,
  SCORED_CODES,
  scoreFindings,
  wfdbReferenceFindings,
} from '../../src/inference/eval/reference-findings.js';
import { parsePtbxlDatabase } from '../../src/inference/io/ptbxl.js';
import { readAnnotations, readWfdbHeader } from '../../src/inference/io/record.js';
import type { Annotation } from '../../src/inference/io/wfdb-annotation.js';
import { FIXTURES, REPO_ROOT, SHARED_DATA, skipUnlessSharedData } from '../support/shared-data.js';

const FS = 360;

function ann(sample: number, symbol: string, aux = ''): Annotation {
  return { sample, symbol, code: 0, subtype: 0, chan: 0, num: 0, aux };
}

/** A rhythm change at `seconds`. */
const rhythm = (seconds: number, aux: string) => ann(Math.round(seconds * FS), '+', aux);

/** Beats every `rr` seconds from `from` (inclusive) to `to` (exclusive), with labels cycling through `symbols`. */
function beats(from: number, to: number, rr: number, symbols = ['N']): Annotation[] {
  const out: Annotation[] = [];
  for (let t = from, k = 0; t < to - 1e-9; t += rr, k++)
    out.push(ann(Math.round(t * FS), symbols[k % symbols.length]!));
  return out;
}

/** Annotations in time order (rhythm changes before a beat at the same sample, as in .atr files). */
const sorted = (...groups: Annotation[][]) =>
  groups.flat().sort((a, b) => a.sample - b.sample || (a.symbol === '+' ? -1 : 1));

/** Reference findings of a 120-s record at 360 Hz. */
const reference = (anns: Annotation[], seconds = 120) => wfdbReferenceFindings(anns, FS, seconds * FS);

describe('reference findings from WFDB annotations', () => {
  it('normal sinus rhythm at 75 bpm has no finding', () => {
    assert.deepEqual(reference(sorted([rhythm(0, '(N')], beats(0.4, 120, 0.8))), []);
  });

  it('AF counts when its episodes total 30 s or more: 25 s is not enough, 35 s (or 20 s + 15 s) is', () => {
    const nsr = beats(0.4, 120, 0.8);
    const af = (start: number, seconds: number) => [rhythm(start, '(AFIB'), rhythm(start + seconds, '(N')];
    assert.deepEqual(reference(sorted([rhythm(0, '(N')], af(10, 25), nsr)), []);
    assert.deepEqual(reference(sorted([rhythm(0, '(N')], af(10, 35), nsr)), ['atrial-fibrillation']);
    assert.deepEqual(reference(sorted([rhythm(0, '(N')], af(10, 20), af(60, 15), nsr)), [
      'atrial-fibrillation',
    ]);
    // The last episode runs to the end of the record.
    assert.deepEqual(reference(sorted([rhythm(0, '(N'), rhythm(85, '(AFL')], nsr)), ['atrial-flutter']);
    assert.deepEqual(reference(sorted([rhythm(0, '(N'), rhythm(95, '(AFL')], nsr)), []);
  });

  it('three V beats at 150 bpm are a VT run; at 60 bpm only when annotated (VT', () => {
    const fast = sorted(
      [rhythm(0, '(N')],
      beats(0.4, 60, 0.8),
      beats(60, 61.2, 0.4, ['V']),
      beats(62, 120, 0.8),
    );
    assert.deepEqual(reference(fast), ['ventricular-tachycardia-run']);
    const slow = sorted(
      [rhythm(0, '(N')],
      beats(0.4, 60, 0.8),
      beats(60, 63, 1.0, ['V']),
      beats(63.8, 120, 0.8),
    );
    assert.deepEqual(reference(slow), []);
    const annotated = sorted(
      [rhythm(0, '(N'), rhythm(60, '(VT'), rhythm(63, '(N')],
      beats(0.4, 60, 0.8),
      beats(60, 63, 1.0, ['V']),
      beats(63.8, 120, 0.8),
    );
    assert.deepEqual(reference(annotated), ['ventricular-tachycardia-run']);
  });

  it('three S beats at 150 bpm, or an (SVTA episode, are an SVT run', () => {
    const run = sorted(
      [rhythm(0, '(N')],
      beats(0.4, 60, 0.8),
      beats(60, 61.2, 0.4, ['A']),
      beats(62, 120, 0.8),
    );
    assert.deepEqual(reference(run), ['supraventricular-tachycardia-run']);
    const svta = sorted([rhythm(0, '(N'), rhythm(50, '(SVTA'), rhythm(52, '(N')], beats(0.4, 120, 0.8));
    assert.deepEqual(reference(svta), ['supraventricular-tachycardia-run']);
  });

  it('a (B episode is bigeminy even over N labels; N V alternation is bigeminy by the pattern rule', () => {
    const episode = sorted([rhythm(0, '(N'), rhythm(30, '(B'), rhythm(40, '(N')], beats(0.4, 120, 0.8));
    assert.deepEqual(reference(episode), ['ventricular-bigeminy']);
    const trig = sorted([rhythm(0, '(N'), rhythm(30, '(T'), rhythm(40, '(N')], beats(0.4, 120, 0.8));
    assert.deepEqual(reference(trig), ['ventricular-trigeminy']);
    // 4 N-V cycles in 150 beats: bigeminy, and 4 V beats are under 5 % (not frequent PVCs).
    const pattern = sorted(
      [rhythm(0, '(N')],
      beats(0.4, 60, 0.8),
      beats(60, 66.4, 0.8, ['N', 'V']),
      beats(66.4, 120, 0.8),
    );
    assert.deepEqual(reference(pattern), ['ventricular-bigeminy']);
  });

  it('frequent PVCs / PACs by the product burden rule (≥ 5 % of beats)', () => {
    const every10 = ['N', 'N', 'N', 'N', 'N', 'N', 'N', 'N', 'N', 'V'];
    assert.deepEqual(reference(sorted([rhythm(0, '(N')], beats(0.4, 120, 0.8, every10))), ['frequent-pvcs']);
    const every10s = every10.map((s) => (s === 'V' ? 'A' : s));
    assert.deepEqual(reference(sorted([rhythm(0, '(N')], beats(0.4, 120, 0.8, every10s))), ['frequent-pacs']);
    const every30 = [...Array(29).fill('N'), 'V'];
    assert.deepEqual(reference(sorted([rhythm(0, '(N')], beats(0.4, 120, 0.8, every30))), []);
  });

  it('rate rule: regular 50 bpm is bradycardia, 120 bpm tachycardia, only when the dominant rhythm is (N', () => {
    assert.deepEqual(reference(sorted([rhythm(0, '(N')], beats(0.4, 120, 1.2))), ['sinus-bradycardia']);
    assert.deepEqual(reference(sorted([rhythm(0, '(N')], beats(0.4, 120, 0.5))), ['sinus-tachycardia']);
    // Mostly another rhythm: no rate call.
    assert.deepEqual(reference(sorted([rhythm(0, '(N'), rhythm(20, '(NOD')], beats(0.4, 120, 1.2))), []);
    // No rhythm annotation at all (as in the SVDB .atr files): no rate call.
    assert.deepEqual(reference(beats(0.4, 120, 1.2)), []);
    // Irregular (RR alternating 1.0 and 1.6 s: median 46 bpm but RR CV 0.23 ≥ 0.15): no rate call.
    const irregular: Annotation[] = [rhythm(0, '(N')];
    for (let t = 0.4, k = 0; t < 120; t += k++ % 2 ? 1.6 : 1.0) irregular.push(ann(Math.round(t * FS), 'N'));
    assert.deepEqual(reference(irregular), []);
  });

  it('paced: a (P episode of 30 s or more, or at least half the beats paced', () => {
    assert.deepEqual(reference(sorted([rhythm(0, '(N'), rhythm(80, '(P')], beats(0.4, 120, 0.8))), [
      'paced-rhythm',
    ]);
    assert.deepEqual(reference(sorted([rhythm(0, '(N'), rhythm(100, '(P')], beats(0.4, 120, 0.8))), []);
    assert.deepEqual(reference(sorted([rhythm(0, '(N')], beats(0.4, 120, 0.8, ['/', 'N']))), [
      'paced-rhythm',
    ]);
    assert.deepEqual(reference(sorted([rhythm(0, '(N')], beats(0.4, 120, 0.8, ['/', 'N', 'N']))), []);
  });
});

describe('reference findings from PTB-XL scp_codes', () => {
  it('parses the Python dict, keeping 0.0 likelihoods (PTB-XL: unknown, not absent)', () => {
    assert.deepEqual(parseScpCodes("{'NORM': 100.0, 'SR': 0.0}"), { NORM: 100, SR: 0 });
    assert.deepEqual(parseScpCodes('{}'), {});
    assert.deepEqual(ptbxlReferenceFindings("{'NORM': 100.0, 'SR': 0.0}"), []);
    assert.deepEqual(ptbxlReferenceFindings("{'NDT': 100.0, 'DIG': 80.0, 'STD_': 0.0, 'AFIB': 0.0}"), [
      'atrial-fibrillation',
    ]);
    assert.deepEqual(ptbxlReferenceFindings("{'PACE': 0.0, 'PVC': 100.0, 'BIGU': 50.0, 'AFLT': 0.0}"), [
      'atrial-flutter',
      'frequent-pvcs',
      'paced-rhythm',
      'ventricular-bigeminy',
    ]);
    assert.deepEqual(ptbxlReferenceFindings("{'STACH': 0.0, 'PAC': 0.0, 'TRIGU': 100.0, 'SBRAD': 0.0}"), [
      'frequent-pacs',
      'sinus-bradycardia',
      'sinus-tachycardia',
      'ventricular-trigeminy',
    ]);
  });

  it('reads ptbxl_database.csv (quoted fields with commas) with ecg_id, scp_codes, filename_hr and recording_date', async () => {
    const file = join(FIXTURES, 'ptbxl', 'ptbxl_database.csv');
    const rows = parsePtbxlDatabase(await readFile(file, 'utf8'), file);
    assert.deepEqual(rows, [
      {
        ecgId: 3,
        scpCodes: "{'NORM': 100.0, 'SR': 0.0}",
        filenameHr: 'records500/00000/00003_hr',
        recordingDate: '1984-11-15 12:49:10',
      },
      {
        ecgId: 318,
        scpCodes: "{'NDT': 100.0, 'DIG': 80.0, 'STD_': 0.0, 'AFIB': 0.0}",
        filenameHr: 'records500/00000/00318_hr',
        recordingDate: '1986-09-14 11:41:19',
      },
      {
        ecgId: 351,
        scpCodes: "{'AFIB': 100.0, 'NST_': 0.0}",
        filenameHr: 'records500/00000/00351_hr',
        recordingDate: '1986-09-26 18:21:00',
      },
    ]);
  });
});

describe('scoring found against reference findings', () => {
  it('scores the AF-or-flutter finding on both AF rows, ignores sinus and other rhythm, counts false findings', () => {
    const s = scoreFindings([
      { reference: ['atrial-fibrillation'], found: ['atrial-fibrillation'] }, // AF tp
      { reference: ['atrial-flutter'], found: ['atrial-fibrillation', 'other-rhythm'] }, // flutter tp, not false
      { reference: ['atrial-flutter'], found: ['sinus-rhythm'] }, // flutter fn
      { reference: [], found: ['atrial-fibrillation', 'frequent-pvcs'] }, // 2 false
      { reference: ['frequent-pvcs'], found: [] }, // fn (e.g. unable)
    ]);
    assert.deepEqual(Object.keys(s.findings), [...SCORED_CODES]);
    assert.deepEqual(s.findings['atrial-fibrillation'], { tp: 1, fn: 0, fp: 1, se: 1, ppv: 0.5 });
    assert.deepEqual(s.findings['atrial-flutter'], { tp: 1, fn: 1, fp: 0, se: 0.5, ppv: 1 });
    assert.deepEqual(s.findings['frequent-pvcs'], { tp: 0, fn: 1, fp: 1, se: 0, ppv: 0 });
    assert.deepEqual(s.findings['paced-rhythm'], { tp: 0, fn: 0, fp: 0, se: 0, ppv: 0 });
    assert.equal(s.falsePer100, (100 * 2) / 5);
    assert.equal(scoreFindings([]).falsePer100, 0);
  });
});

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface RecordEntry {
  record: string;
  reference: string[];
  found: string[];
  status: 'ok' | 'unable';
  unable?: string;
}

/** The documented interface, and counts that add up to the per-record lists. */
function checkReport(stdout: string): { records: RecordEntry[] } {
  assert.equal(stdout.trim().split('\n').length, 1, 'exactly one JSON line');
  const report = JSON.parse(stdout);
  assert.deepEqual(Object.keys(report), ['records', 'findings', 'falsePer100', 'unable']);
  const records = report.records as RecordEntry[];
  for (const r of records) {
    assert.deepEqual(Object.keys(r), [
      'record',
      'reference',
      'found',
      'status',
      ...(r.status === 'unable' ? ['unable'] : []),
    ]);
    assert.deepEqual(r.reference, [...r.reference].sort());
    assert.deepEqual(r.found, [...new Set(r.found)].sort());
    if (r.status === 'unable') assert.deepEqual(r.found, []);
  }
  assert.deepEqual(Object.keys(report.findings), [...SCORED_CODES]);
  let falseFindings = 0;
  for (const code of SCORED_CODES) {
    const c = report.findings[code];
    assert.deepEqual(Object.keys(c), ['tp', 'fn', 'fp', 'se', 'ppv']);
    const withRef = records.filter((r) => r.reference.includes(code));
    assert.equal(c.tp + c.fn, withRef.length, `${code}: tp + fn = records with the reference code`);
    const foundCode = code === 'atrial-flutter' ? 'atrial-fibrillation' : code;
    assert.equal(c.tp, withRef.filter((r) => r.found.includes(foundCode)).length, `${code} tp`);
    for (const r of records)
      if (
        r.found.includes(code) &&
        !r.reference.includes(code) &&
        !(code === 'atrial-fibrillation' && r.reference.includes('atrial-flutter'))
      )
        falseFindings++;
  }
  assert.ok(Math.abs(report.falsePer100 - (100 * falseFindings) / records.length) < 1e-9);
  assert.equal(report.unable, records.filter((r) => r.status === 'unable').length);
  return report;
}

describe('ecg-cds eval findings (shipped models, committed fixtures)', () => {
  it('WFDB: --json prints the documented object; references follow the .atr annotations', () => {
    const r = cli(
      'eval',
      'findings',
      '--db',
      join(FIXTURES, 'mitdb'),
      '--records',
      'mitdb-119-21m-24m',
      '--json',
    );
    assert.equal(r.code, 0, r.stderr);
    const report = checkReport(r.stdout);
    assert.deepEqual(
      report.records.map((x) => [x.record, x.reference]),
      [['mitdb-119-21m-24m', ['frequent-pvcs', 'ventricular-bigeminy', 'ventricular-trigeminy']]],
    );
  });

  it('PTB-XL: detected from ptbxl_database.csv, records named by zero-padded ecg_id', () => {
    const r = cli('eval', 'findings', '--db', join(FIXTURES, 'ptbxl'), '--records', 'all', '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = checkReport(r.stdout);
    assert.deepEqual(
      report.records.map((x) => [x.record, x.reference]),
      [
        ['00003', []],
        ['00318', ['atrial-fibrillation']],
        ['00351', ['atrial-fibrillation']],
      ],
    );
    // A bad --records fails before any model loads, exit code 2.
    const bad = cli('eval', 'findings', '--db', join(FIXTURES, 'ptbxl'), '--records', '3,99999');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no row with ecg_id "99999"/);
  });

  it('the table lists each record, per-code counts, false findings per 100 records and unable', () => {
    const records: FindingsRecordReport[] = [
      { record: '201', reference: ['atrial-fibrillation'], found: ['atrial-fibrillation'], status: 'ok' },
      {
        record: '105',
        reference: ['frequent-pvcs'],
        found: [],
        status: 'unable',
        unable: 'poor-signal-quality',
      },
    ];
    const text = formatFindingsReport({ records, ...scoreFindings(records), unable: 1 });
    assert.match(text, /^201\s+atrial-fibrillation → atrial-fibrillation$/m);
    assert.match(text, /^105\s+frequent-pvcs → unable \(poor-signal-quality\)$/m);
    assert.match(text, /^atrial-fibrillation\s+1\s+0\s+0\s+100\.0\s+100\.0$/m);
    assert.match(text, /^frequent-pvcs\s+0\s+1\s+0\s+0\.0\s+0\.0$/m);
    assert.match(text, /records 2; false findings per 100 records 0\.0; unable to analyse 1/);
  });

  it('MIT-BIH DS1 references: AF in 201 and 203, flutter in 203, bigeminy in 119, paced in none', {
    skip: skipUnlessSharedData,
  }, async () => {
    const refs = new Map<string, string[]>();
    for (const name of ['119', '201', '203', '108']) {
      const path = join(SHARED_DATA, 'mitdb', name);
      const header = await readWfdbHeader(path);
      refs.set(name, wfdbReferenceFindings(await readAnnotations(path), header.fs, header.nSamples!));
    }
    assert.ok(refs.get('201')!.includes('atrial-fibrillation'));
    assert.ok(
      refs.get('203')!.includes('atrial-fibrillation') && refs.get('203')!.includes('atrial-flutter'),
    );
    assert.ok(refs.get('119')!.includes('ventricular-bigeminy'));
    assert.ok(refs.get('108')!.includes('sinus-bradycardia'));
    assert.ok([...refs.values()].every((r) => !r.includes('paced-rhythm')));
  });
});
