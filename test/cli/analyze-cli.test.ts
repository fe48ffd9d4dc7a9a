import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { cli } from '../support/cli.js';
import { FIXTURES } from '../support/shared-data.js';

const AI_NOTICE = 'AI-generated, preliminary — requires clinician review.';

/** Pattern checks on a page that print the pattern, not the 1.7-MB page, when they fail. */
const has = (page: string, re: RegExp) => assert.ok(re.test(page), `page lacks ${re}`);
const lacks = (page: string, re: RegExp) => assert.ok(!re.test(page), `page has ${re}`);

/** A self-contained page: no script, no external resource (the SVG namespace is a name, not a request). */
function assertSelfContained(html: string) {
  lacks(html, /<script/i);
  lacks(html, /<link\b/i);
  lacks(html, /(?:src|href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
  lacks(html, /url\(\s*["']?(?:https?:)?\/\//i);
  lacks(html, /@import/i);
  const urls = html.match(/https?:\/\/[^\s"'<>)]+/g) ?? [];
  assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg']);
}

describe('ecg-cds analyze', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'analyze-cli-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('MIT-BIH 119 (bigeminy): prints the findings with evidence and writes a self-contained page', async () => {
    const html = join(dir, '119.html');
    const r = await cli('analyze', join(FIXTURES, 'mitdb', 'mitdb-119-21m-24m'), '--html', html);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^mitdb-119-21m-24m: 2 leads \(MLII V1\), 3:00 at 360 Hz$/m);
    assert.match(r.stdout, /^ {2}Ventricular bigeminy \(confidence (?:\d+ %|> 99 %)\)$/m);
    assert.match(r.stdout, /^ {4}- \d+ bigeminy cycles in \d+ episodes?, first at /m);
    assert.match(r.stdout, /^ {2}Frequent premature ventricular contractions \(confidence /m);
    assert.match(r.stdout, /^Models: beat-cnn \S+, rhythm-cnn \S+, ae-quality \S+$/m);
    assert.ok(r.stdout.includes(AI_NOTICE));

    const page = await readFile(html, 'utf8');
    has(page, /^<!doctype html>/);
    assertSelfContained(page);
    has(page, /<svg [^>]*class="ecg-overview"/);
    has(page, /<svg [^>]*class="ecg-paper ecg-strips"/);
    // Beat labels above the beats, V among them, and the finding's saliency spans highlighted.
    assert.ok((page.match(/class="beat-label beat-N"/g) ?? []).length > 100);
    assert.ok((page.match(/class="beat-label beat-V"/g) ?? []).length >= 30);
    has(page, /Ventricular bigeminy/);
    has(page, /<li>\d+ bigeminy cycles in \d+ episodes?, first at [^<]+<\/li>/);
    assert.ok(page.includes(AI_NOTICE));
    has(page, /Models: beat-cnn \S+, rhythm-cnn \S+, ae-quality/);
  });

  it('PTB-XL 00003 (12-lead): sinus rhythm, the 3×4 layout with a rhythm strip; --json without samples', async () => {
    const html = join(dir, '00003.html');
    const r = await cli('analyze', join(FIXTURES, 'ptbxl', '00003_hr'), '--html', html);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^00003_hr: 12 leads \(.*\), 0:10 at 500 Hz$/m);
    assert.match(r.stdout, /^ {2}Sinus rhythm \(confidence \d+ %\)$/m);
    const page = await readFile(html, 'utf8');
    assertSelfContained(page);
    has(page, /<svg [^>]*class="ecg-paper ecg-12-lead"/);
    has(page, /class="rhythm-strip"/);
    has(page, /class="beat-label beat-N"/);
    assert.ok(page.includes(AI_NOTICE));

    const j = await cli('analyze', join(FIXTURES, 'ptbxl', '00003_hr'), '--json');
    assert.equal(j.code, 0, j.stderr);
    const analysis = JSON.parse(j.stdout);
    assert.equal(analysis.status, 'ok');
    assert.equal(analysis.fs, 500);
    assert.ok(analysis.findings.some((f: { code: string }) => f.code === 'sinus-rhythm'));
    assert.ok(analysis.models.length === 3);
    assert.doesNotMatch(j.stdout, /"samples"|"leads"/);
  });

  it('a 0-dB noise record: "unable to analyse" with the reason, and the noise shaded on the page', async () => {
    const html = join(dir, 'noise.html');
    const r = await cli('analyze', join(FIXTURES, 'nstdb', 'nstdb-118e00-5m-7m'), '--html', html);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Unable to analyse: poor signal quality: \d+ % of the recording is noise/m);
    assert.doesNotMatch(r.stdout, /Findings:/);
    const page = await readFile(html, 'utf8');
    assertSelfContained(page);
    has(page, /<p class="unable">Unable to analyse: poor signal quality/);
    has(page, /class="noisy"/);
    assert.ok(page.includes(AI_NOTICE));
  });

  it('an Observation the codec refuses: exit 2 and a message naming the field, no stack', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '34534-8' }] },
        component: [
          {
            code: {
              coding: [
                { system: 'urn:oid:2.16.840.1.113883.6.24', code: '131330', display: 'MDC_ECG_LEAD_II' },
              ],
            },
            valueSampledData: {
              origin: { value: 0, unit: 'mV' },
              period: 'two',
              dimensions: 1,
              data: '1 2 3',
            },
          },
        ],
      }),
    );
    const r = await cli('analyze', bad);
    assert.equal(r.code, 2, r.stderr);
    assert.match(
      r.stderr,
      /^ecg-cds: analyze: .*bad\.json: not a usable ECG Observation: .*component\[0\]\.valueSampledData\.period/,
    );
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    assert.equal(r.stdout, '');

    const notJson = join(dir, 'not.json');
    await writeFile(notJson, '{ nope');
    const n = await cli('analyze', notJson);
    assert.equal(n.code, 2);
    assert.match(n.stderr, /is not JSON/);
  });

  it('an Observation file decodes with the codec and analyses like its record', async () => {
    const obs = await cli('import', join(FIXTURES, 'ptbxl', '00003_hr'), '--patient', 'p1');
    assert.equal(obs.code, 0, obs.stderr);
    const file = join(dir, 'obs.json');
    await writeFile(file, obs.stdout);
    const r = await cli('analyze', file);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /12 leads .*0:10 at 500 Hz/);
    assert.match(r.stdout, /^ {2}Sinus rhythm \(confidence \d+ %\)$/m);
  });
});
