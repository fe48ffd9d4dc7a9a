import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAnnotations } from '../../src/inference/io/wfdb-annotation.js';
import { FIXTURES, REPO_ROOT } from '../support/shared-data.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ecg-cds eval qrs', () => {
  let out: string;
  before(async () => {
    out = await mkdtemp(join(tmpdir(), 'ecg-cds-qrs-'));
  });
  after(() => rm(out, { recursive: true, force: true }));

  it('--json prints exactly one object with the documented shape, and --out writes readable .qrs files', async () => {
    const db = join(FIXTURES, 'mitdb');
    const r = cli(
      'eval',
      'qrs',
      '--db',
      db,
      '--records',
      'mitdb-100-0m-5m,mitdb-201-1m-4m',
      '--json',
      '--out',
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1);
    const report = JSON.parse(lines[0]!);
    assert.deepEqual(Object.keys(report), ['records', 'total']);
    assert.deepEqual(
      report.records.map((x: { record: string }) => x.record),
      ['mitdb-100-0m-5m', 'mitdb-201-1m-4m'],
    );
    for (const rec of report.records)
      assert.deepEqual(Object.keys(rec), ['record', 'tp', 'fn', 'fp', 'se', 'ppv']);
    assert.deepEqual(Object.keys(report.total), ['tp', 'fn', 'fp', 'se', 'ppv', 'f1']);
    for (const v of [report.total.se, report.total.ppv, report.total.f1]) assert.ok(v >= 0 && v <= 1);
    assert.equal(report.records[0].tp + report.records[0].fn, 371); // beats in the record-100 excerpt
    const qrs = parseAnnotations(await readFile(join(out, 'mitdb-100-0m-5m.qrs')), 'x.qrs');
    assert.equal(qrs.length, report.records[0].tp + report.records[0].fp);
    assert.ok(qrs.every((a) => a.symbol === 'N'));
  });

  it('without --json prints a table with a total row', () => {
    const r = cli('eval', 'qrs', '--db', join(FIXTURES, 'mitdb'), '--records', 'mitdb-100-0m-5m');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^record\s+TP\s+FN\s+FP\s+Se%\s+\+P%/);
    assert.match(r.stdout, /\ntotal\s+371\s+0\s+0\s+100\.00\s+100\.00\s+F1\s+100\.00\n$/);
  });

  it('`all` takes every record with an .atr file when there is no RECORDS file', () => {
    const r = cli('eval', 'qrs', '--db', join(FIXTURES, 'mitdb'), '--json');
    assert.equal(r.code, 0, r.stderr);
    const withAtr = readdirSync(join(FIXTURES, 'mitdb')).filter((f) => f.endsWith('.atr')).length;
    assert.ok(withAtr >= 4);
    assert.equal(JSON.parse(r.stdout).records.length, withAtr);
  });

  it('gives a clear error and exit code 2 for a missing --db, a missing record and an unknown option', () => {
    const noDb = cli('eval', 'qrs');
    assert.equal(noDb.code, 2);
    assert.match(noDb.stderr, /--db <wfdb-dir> is required/);
    const missing = cli('eval', 'qrs', '--db', join(FIXTURES, 'mitdb'), '--records', 'nope');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /nope\.hea: file not found/);
    assert.equal(cli('eval', 'qrs', '--db', 'x', '--bogus').code, 2);
    assert.equal(cli('frobnicate').code, 2);
  });
});
