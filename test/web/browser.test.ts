/**
 * The demo EHR and the SMART viewer in a real browser (issue #12 item 7): playwright-core driving
 * Debian's chromium (never a downloaded browser; .ci/run installs it). Opens the demo EHR, each demo
 * patient, checks the cards and their indicators, launches the viewer from the "View ECG" SMART link and
 * checks the drawn ECG (traces, beat labels, highlighted spans), dismisses a card with a reason and
 * sees the feedback counted. Screenshots go to test-output/screenshots/ (git-ignored);
 * `npm run screenshots` runs just this file.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type RunningService, startService } from '../support/service.js';
import { REPO_ROOT } from '../support/shared-data.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const SHOTS = join(REPO_ROOT, 'test-output', 'screenshots');
const skip = existsSync(CHROMIUM)
  ? false
  : `chromium not found at ${CHROMIUM}: install it with 'apt-get install -y chromium' (.ci/run does) or set CHROMIUM_PATH`;

let svc: RunningService;
let browser: Browser;

before(async () => {
  if (skip) return;
  const { chromium } = await import('playwright-core');
  [svc, browser] = await Promise.all([
    startService(),
    // --no-sandbox: CI runs as root, where chromium's sandbox refuses to start.
    chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] }),
  ]);
  await mkdir(SHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await svc?.stop();
});

/** Demo patient (by record) → what its cards must show. */
const EXPECTED: readonly { record: string; slug: string; indicator?: 'warning' | 'critical' | 'info' }[] = [
  { record: 'A00007', slug: 'sinus' },
  { record: 'A00004', slug: 'af', indicator: 'warning' },
  { record: 'mitdb-119', slug: 'bigeminy', indicator: 'warning' },
  { record: 'mitdb-201', slug: 'af-holter', indicator: 'warning' },
  { record: '00318', slug: '12lead-af', indicator: 'warning' },
  { record: '00003', slug: '12lead-normal' },
  { record: 'nstdb', slug: 'noisy', indicator: 'info' },
];

async function openPatient(page: Page, record: string): Promise<string[]> {
  const s = svc.seeded.find((x) => x.patient.record.includes(record));
  assert.ok(s, record);
  await page.click(`button.patient[data-patient="${s.patient.id}"]`);
  await page.waitForSelector('.cards[aria-busy="false"]', { timeout: 60_000 });
  const error = await page.$('.cards .error');
  assert.equal(error ? await error.textContent() : null, null);
  return page.$$eval('.cards .card', (cards) => cards.map((c) => c.getAttribute('data-indicator') ?? ''));
}

describe('demo EHR in chromium', { skip }, () => {
  it('lists the demo patients and shows each one’s cards with the right indicator', {
    timeout: 300_000,
  }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${svc.base}/`);
    await page.waitForSelector('button.patient');
    assert.equal(await page.locator('button.patient').count(), svc.seeded.length);
    for (const e of EXPECTED) {
      const indicators = await openPatient(page, e.record);
      if (e.indicator) assert.ok(indicators.includes(e.indicator), `${e.slug}: ${indicators.join(',')}`);
      else
        assert.ok(
          !indicators.includes('warning') && !indicators.includes('critical'),
          `${e.slug}: ${indicators}`,
        );
      await page.screenshot({ path: join(SHOTS, `ehr-${e.slug}.png`), fullPage: true });
    }
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('"View ECG" launches the SMART viewer, which draws the ECG with beat labels and highlighted spans', {
    timeout: 180_000,
  }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${svc.base}/`);
    await page.waitForSelector('button.patient');
    // A previous ECG for the AF patient (the sinus patient's strip, a year earlier), so the viewer
    // shows it beside the current one.
    const af = svc.seeded.find((x) => x.patient.record.includes('A00004'))!;
    const sinus = svc.seeded.find((x) => x.patient.record.includes('A00007'))!;
    const { id: _id, meta: _meta, identifier: _identifier, ...rest } = sinus.observation;
    const earlier = new Date(Date.parse(af.observation.effectiveDateTime!) - 365 * 86_400_000).toISOString();
    const created = await fetch(`${svc.base}/fhir/Observation`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({
        ...rest,
        subject: { reference: `Patient/${af.patient.id}` },
        effectiveDateTime: earlier,
      }),
    });
    assert.equal(created.status, 201);
    for (const slug of ['bigeminy', '12lead-af', 'af', 'noisy']) {
      const e = EXPECTED.find((x) => x.slug === slug)!;
      await openPatient(page, e.record);
      const [viewer] = await Promise.all([
        page.context().waitForEvent('page'),
        page.locator('.card button.smart-link').first().click(),
      ]);
      const errors: string[] = [];
      viewer.on('pageerror', (err) => errors.push(err.message));
      await viewer.waitForSelector('.tracing svg.ecg-paper path.trace', { timeout: 60_000 });
      assert.ok(new URL(viewer.url()).pathname === '/viewer', viewer.url());
      const counts = await viewer.$eval('.tracing', (t) => ({
        traces: t.querySelectorAll('svg.ecg-paper path.trace').length,
        labels: t.querySelectorAll('svg.ecg-paper text.beat-label').length,
        v: t.querySelectorAll('svg.ecg-paper text.beat-V').length,
        saliency: t.querySelectorAll('svg rect.saliency').length,
        noisy: t.querySelectorAll('svg.ecg-paper rect.noisy').length,
        overview: t.querySelectorAll('svg.ecg-overview').length,
        // Painted, not just present: the first trace has a real on-screen width.
        width: t.querySelector('svg.ecg-paper path.trace')?.getBoundingClientRect().width ?? 0,
      }));
      assert.ok(counts.traces > 0 && counts.width > 100, `${slug}: ${JSON.stringify(counts)}`);
      if (slug === 'noisy') {
        // Unable to analyse: the tracing is still drawn, the noise shaded, the reason beside it.
        assert.ok(counts.noisy > 0, `noise shaded: ${JSON.stringify(counts)}`);
        assert.equal(counts.labels, 0);
        assert.match((await viewer.locator('.evidence .unable').textContent()) ?? '', /poor signal quality/);
      } else {
        assert.ok(counts.labels > 5, `${slug}: ${JSON.stringify(counts)}`);
        assert.ok(counts.saliency > 0, `${slug}: highlighted spans ${JSON.stringify(counts)}`);
        assert.ok((await viewer.locator('.evidence .finding').count()) > 0);
      }
      if (slug === 'bigeminy') {
        assert.ok(counts.v > 2, `V labels ${counts.v}`);
        assert.equal(counts.overview, 1, 'a 3-min recording gets the Holter overview');
      }
      if (slug === '12lead-af') assert.equal(counts.traces, 13, '12 leads + the rhythm strip');
      await viewer.waitForSelector('#compare figure, #compare p:not(:has-text("Looking"))', {
        timeout: 60_000,
      });
      if (slug === 'af') {
        // The previous ECG beside this one, each drawn with its beat labels.
        const sides = viewer.locator('#compare figure.side');
        assert.equal(await sides.count(), 2);
        assert.match((await sides.nth(1).textContent()) ?? '', /Previous ECG/);
        assert.ok((await sides.nth(1).locator('text.beat-label').count()) > 5);
      }
      await viewer.screenshot({ path: join(SHOTS, `viewer-${slug}.png`), fullPage: true });
      assert.deepEqual(errors, []);
      await viewer.close();
    }
    await page.close();
  });

  it('dismissing a card with a reason reaches the feedback endpoint', { timeout: 120_000 }, async () => {
    const before = await feedbackCount('overridden');
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${svc.base}/`);
    await page.waitForSelector('button.patient');
    await openPatient(page, 'A00004');
    const card = page.locator('.card').first();
    await card.locator('select.override-reason').selectOption({ index: 1 });
    await card.locator('input.override-comment').fill('seen by cardiology');
    await card.locator('button.dismiss').click();
    await card.locator('.feedback-status', { hasText: 'feedback sent' }).waitFor({ timeout: 30_000 });
    assert.ok(await card.evaluate((c) => c.classList.contains('dismissed')));
    assert.equal(await feedbackCount('overridden'), before + 1);
    await page.close();
  });
});

async function feedbackCount(outcome: string): Promise<number> {
  const m = await svc.c.metrics.registry.getSingleMetric('ecg_cds_feedback_total')?.get();
  return (m?.values ?? []).filter((v) => v.labels['outcome'] === outcome).reduce((s, v) => s + v.value, 0);
}
