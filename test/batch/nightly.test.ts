/**
 * Nightly back-analysis against the embedded FHIR server over HTTP, in-process queue, checkpoint in a FHIR
 * `Basic`: it analyses exactly the ECGs without a report, a second run does nothing, a new model version
 * re-reads history, and a run killed with SIGKILL resumes from its checkpoint with 0 lost, 0 duplicated.
 */
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fhirCheckpointStore, STATE_SYSTEM } from '../../src/batch/checkpoint.js';
import { nightlyDeps } from '../../src/batch/job.js';
import { runNightly } from '../../src/batch/nightly.js';
import { loadConfig } from '../../src/config.js';
import { compose, REPO_ROOT } from '../../src/main.js';
import { silentLogger } from '../../src/ops/log.js';
import { seedEcgs, spawnChild, tallyReports, until } from '../support/batch.js';
import { type RunningService, startService } from '../support/service.js';

const NO_SUBSCRIPTIONS = { SUBSCRIPTIONS_ENSURE: 'false', BATCH_RATE_PER_SEC: '1000' };

describe('nightly back-analysis (in-process queue, FHIR checkpoint)', () => {
  let s: RunningService;
  before(async () => {
    s = await startService(NO_SUBSCRIPTIONS);
  });
  after(async () => {
    await s.stop();
  });

  test('analyses exactly the unanalysed ECGs; a second run does nothing; a new model re-analyses', async () => {
    const ecgs = await seedEcgs(s.c.backend, 12, 'nightly');
    const deps = await nightlyDeps(s.c, { batchSize: 5 });
    assert.equal(deps.reader.kind, 'bulk-export', 'the dev server advertises $export');
    const first = await runNightly(deps);
    assert.equal(first.mode, 'full');
    assert.equal(first.analysed, 12, 'the 12 new ECGs');
    assert.equal(first.alreadyAnalysed, s.seeded.length, 'the demo ECGs analysed at start-up');
    assert.equal(first.failed, 0);
    assert.equal(
      Object.values(first.byFinding).reduce((a, b) => a + b, 0),
      12,
    );
    assert.deepEqual(
      await tallyReports(s.c.backend, ecgs, s.c.models.version).then((t) => [t.missing, t.duplicated]),
      [0, 0],
    );

    const second = await runNightly(deps);
    assert.equal(second.mode, 'incremental');
    assert.equal(second.queued, 0);
    const runs = await s.c.backend.search('Basic', { code: `${STATE_SYSTEM}|nightly-state` });
    assert.equal(runs.total, 3, 'the checkpoint and two run summaries are kept on the server');

    // A new model version: the same models under a bumped manifest version, writing to the same server.
    const dir = await mkdtemp(join(tmpdir(), 'ecg-cds-models-'));
    try {
      await cp(join(REPO_ROOT, 'models'), dir, { recursive: true });
      const shipped = JSON.parse(await readFile(join(dir, 'shipped.json'), 'utf8')) as { beat: string };
      const manifest = join(dir, `${shipped.beat}.manifest.json`);
      const m = JSON.parse(await readFile(manifest, 'utf8')) as { version: string };
      await writeFile(manifest, JSON.stringify({ ...m, version: `${m.version}-next` }));
      const next = await compose(
        loadConfig({
          FHIR_BASE_URL: `${s.base}/fhir`,
          MODELS_DIR: dir,
          LOG_LEVEL: 'silent',
          ...NO_SUBSCRIPTIONS,
        }),
        silentLogger,
      );
      try {
        assert.notEqual(next.models.version, s.c.models.version);
        const third = await runNightly(await nightlyDeps(next, { batchSize: 5 }));
        assert.equal(third.mode, 'full');
        assert.equal(third.analysed, 12 + s.seeded.length, 'all history, with the new model');
        const t = await tallyReports(s.c.backend, ecgs, next.models.version);
        assert.deepEqual([t.missing, t.duplicated], [0, 0]);
      } finally {
        await next.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('dry run lists what would be analysed and writes nothing', async () => {
    const ecgs = await seedEcgs(s.c.backend, 3, 'dry');
    const deps = await nightlyDeps(s.c);
    const before = await fhirCheckpointStore(s.c.backend).load();
    const r = await runNightly(deps, { since: '2000-01-01', dryRun: true });
    assert.deepEqual(r.wouldAnalyse?.map((e) => e.id).sort(), ecgs.map((e) => e.id).sort());
    assert.equal((await tallyReports(s.c.backend, ecgs, s.c.models.version)).missing, 3);
    assert.deepEqual(await fhirCheckpointStore(s.c.backend).load(), before);
  });
});

describe('nightly job killed with SIGKILL mid-run', () => {
  let s: RunningService;
  before(async () => {
    s = await startService(NO_SUBSCRIPTIONS);
  });
  after(async () => {
    await s.stop();
  });

  test('resumes from its checkpoint: 0 lost, 0 duplicate reports', async () => {
    const ecgs = await seedEcgs(s.c.backend, 60, 'kill');
    const env = { FHIR_BASE_URL: `${s.base}/fhir`, NIGHTLY_BATCH: '10', ...NO_SUBSCRIPTIONS };
    const store = fhirCheckpointStore(s.c.backend);
    const run1 = spawnChild('nightly', env);
    await until(
      async () => {
        const c = await store.load();
        return (
          c?.lastUpdated !== undefined &&
          !c.complete &&
          (await tallyReports(s.c.backend, ecgs, s.c.models.version)).missing < 45
        );
      },
      60_000,
      'the first run to checkpoint a few batches',
    );
    run1.child.kill('SIGKILL');
    await run1.exited;
    const killedAt = await tallyReports(s.c.backend, ecgs, s.c.models.version);
    assert.ok(killedAt.missing > 0, 'killed before the end');

    const run2 = spawnChild('nightly', env);
    assert.equal(await run2.exited, 0);
    const summary = JSON.parse(run2.lines.at(-1) ?? '{}') as { mode: string; seen: number; analysed: number };
    assert.equal(summary.mode, 'incremental', 'resumed from the checkpoint, not a full pass');
    assert.ok(
      summary.seen < ecgs.length + s.seeded.length,
      `re-read only from the checkpoint (${summary.seen})`,
    );
    const final = await tallyReports(s.c.backend, ecgs, s.c.models.version);
    assert.equal(final.missing, 0, 'lost');
    assert.equal(final.duplicated, 0, 'duplicated');
    assert.ok(final.perEcg.every((n) => n === 1));
    assert.equal((await store.load())?.complete, true);
  });
});
