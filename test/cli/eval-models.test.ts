import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseAnnotations } from '../../src/inference/io/wfdb-annotation.js';
import { FIXTURES, REPO_ROOT } from '../support/shared-data.js';

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/cli/main.ts'), ...args], {
    encoding: 'utf8',
    cwd: REPO_ROOT,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ecg-cds eval beats / eval rhythm (shipped models)', () => {
  it('eval beats --json prints the documented object; --out writes .cls annotation files', async () => {
    const out = await mkdtemp(join(tmpdir(), 'ecg-cds-cls-'));
    try {
      const r = cli(
        'eval',
        'beats',
        '--db',
        join(FIXTURES, 'mitdb'),
        '--records',
        'mitdb-100-0m-5m,mitdb-119-21m-24m',
        '--json',
        '--out',
        out,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim().split('\n').length, 1);
      const report = JSON.parse(r.stdout);
      assert.deepEqual(Object.keys(report), ['records', 'classes', 'confusion', 'qrs']);
      assert.deepEqual(Object.keys(report.classes), ['N', 'S', 'V', 'F', 'Q']);
      for (const c of Object.values(report.classes) as Array<Record<string, number>>) {
        assert.deepEqual(Object.keys(c), ['tp', 'fn', 'fp', 'se', 'ppv', 'f1']);
        for (const k of ['se', 'ppv', 'f1']) assert.ok(c[k]! >= 0 && c[k]! <= 1);
      }
      assert.deepEqual(Object.keys(report.confusion), ['N', 'S', 'V', 'F', 'Q', 'extra']);
      assert.deepEqual(Object.keys(report.confusion.N), ['N', 'S', 'V', 'F', 'Q', 'missed']);
      assert.ok(report.classes.V.se > 0.9, `V Se ${report.classes.V.se} on the bigeminy excerpt`);
      assert.deepEqual(Object.keys(report.qrs), ['se', 'ppv']);
      const cls = parseAnnotations(await readFile(join(out, 'mitdb-119-21m-24m.cls')), 'x.cls');
      assert.ok(cls.length > 190 && cls.every((a) => ['N', 'S', 'V', 'F', 'Q'].includes(a.symbol)));
      assert.ok(cls.some((a) => a.symbol === 'V'));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  it('eval rhythm --json prints n, f1 per class, the CinC score and the confusion matrix', () => {
    const r = cli('eval', 'rhythm', '--db', join(FIXTURES, 'cinc2017'), '--json');
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(report), ['n', 'f1', 'score', 'confusion']);
    assert.equal(report.n, 2);
    assert.deepEqual(Object.keys(report.f1), ['N', 'A', 'O', '~']);
    assert.equal(report.confusion.A.A, 1); // A00004 is AF
    assert.equal(report.confusion.N.N, 1); // A00007 is normal
  });

  it('refuses a missing reference file and an unknown provider with exit code 2', () => {
    const r = cli('eval', 'rhythm', '--db', join(FIXTURES, 'mitdb'));
    assert.equal(r.code, 2);
    assert.match(r.stderr, /neither REFERENCE-v3\.csv nor REFERENCE\.csv found/);
    assert.equal(cli('eval', 'beats', '--db', join(FIXTURES, 'mitdb'), '--provider', 'tpu').code, 2);
  });
});
