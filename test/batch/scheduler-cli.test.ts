/**
 * The nightly schedule (a run is skipped while the previous one is going; bad cron refused) and the
 * `ecg-cds backfill` command against the embedded FHIR server: --dry-run lists and writes nothing,
 * a real run analyses the range.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { scheduleNightly } from '../../src/batch/scheduler.js';
import { REPO_ROOT } from '../../src/main.js';
import { silentLogger } from '../../src/ops/log.js';
import { seedEcgs, tallyReports } from '../support/batch.js';
import { type RunningService, startService } from '../support/service.js';

describe('nightly schedule', () => {
  test('a trigger while a run is in progress is skipped', async () => {
    let release = () => {};
    let runs = 0;
    const schedule = scheduleNightly({
      cron: '0 2 * * *',
      timezone: 'Europe/Zurich',
      log: silentLogger,
      run: () => {
        runs++;
        return new Promise<void>((ok) => {
          release = ok;
        });
      },
    });
    const first = schedule.trigger();
    assert.equal(await schedule.trigger(), false);
    release();
    assert.equal(await first, true);
    assert.equal(runs, 1);
    await schedule.stop();
  });

  test('an invalid cron expression is refused at start', () => {
    assert.throws(
      () => scheduleNightly({ cron: 'every night', timezone: 'UTC', log: silentLogger, run: async () => {} }),
      /NIGHTLY_CRON/,
    );
  });
});

function cli(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args],
    {
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((ok) => child.once('exit', (code) => ok({ code, out })));
}

describe('ecg-cds backfill', () => {
  let s: RunningService;
  before(async () => {
    s = await startService({ SUBSCRIPTIONS_ENSURE: 'false' });
  });
  after(async () => {
    await s.stop();
  });

  test('--dry-run lists what would be analysed and writes nothing; a real run analyses it', async () => {
    const ecgs = await seedEcgs(s.c.backend, 3, 'cli');
    const env = {
      FHIR_BASE_URL: `${s.base}/fhir`,
      SUBSCRIPTIONS_ENSURE: 'false',
      BATCH_RATE_PER_SEC: '1000',
    };
    const dry = await cli(['backfill', '--since', '2000-01-01', '--dry-run'], env);
    assert.equal(dry.code, 0);
    assert.match(dry.out, /dry run: 3 of \d+ ECGs would be analysed/);
    for (const e of ecgs) assert.ok(dry.out.includes(`Observation/${e.id}/_history/`));
    assert.equal((await tallyReports(s.c.backend, ecgs, s.c.models.version)).missing, 3);

    const real = await cli(['backfill', '--since', '2000-01-01'], env);
    assert.equal(real.code, 0);
    assert.equal((JSON.parse(real.out) as { analysed: number }).analysed, 3);
    const t = await tallyReports(s.c.backend, ecgs, s.c.models.version);
    assert.deepEqual([t.missing, t.duplicated], [0, 0]);
  });

  test('without --since it is a usage error', async () => {
    const r = await cli(['backfill'], { FHIR_BASE_URL: `${s.base}/fhir` });
    assert.equal(r.code, 2);
  });
});
