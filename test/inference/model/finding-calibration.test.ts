import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readFindingCalibration } from '../../../src/inference/model/engine.js';
import { ModelLoadError } from '../../../src/inference/model/manifest.js';
import { REPO_ROOT } from '../../support/shared-data.js';

describe('finding-calibration.json', () => {
  it('the shipped file holds a finite Platt map for AF and the beat findings', async () => {
    const maps = await readFindingCalibration(join(REPO_ROOT, 'models'));
    for (const code of ['atrial-fibrillation', 'frequent-pvcs', 'ventricular-bigeminy'] as const) {
      const m = maps[code];
      assert.ok(m && Number.isFinite(m.a) && Number.isFinite(m.b), code);
      assert.ok(m.a > 0, `${code}: a map must keep the score's order (a = ${m.a})`);
    }
  });

  it('absent → no maps; malformed → a load error naming the file and the field', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fcal-'));
    try {
      assert.deepEqual(await readFindingCalibration(dir), {});
      await writeFile(
        join(dir, 'finding-calibration.json'),
        '{"maps": {"frequent-pvcs": {"a": "x", "b": 0}}}',
      );
      await assert.rejects(readFindingCalibration(dir), (e: Error) => {
        assert.ok(e instanceof ModelLoadError);
        assert.match(e.message, /finding-calibration\.json: maps\.frequent-pvcs needs finite numbers/);
        return true;
      });
      await writeFile(join(dir, 'finding-calibration.json'), 'not json');
      await assert.rejects(readFindingCalibration(dir), ModelLoadError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
