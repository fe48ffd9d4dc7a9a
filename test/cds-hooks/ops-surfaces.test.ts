/**
 * Operations surfaces (issue #11 item 6) on the real composition over HTTP: /metrics is not on the
 * public port unless METRICS_TOKEN guards it, the metrics port serves it, auth failures carry no
 * reason label, feedback labels stay a closed set whatever a client sends, the feedback body is
 * validated (400 naming the field), and free text never reaches the log.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { OVERRIDE_REASON_CODES, OVERRIDE_REASON_SYSTEM } from '../../src/cds-hooks/cards.js';
import { loadConfig, redactedConfig } from '../../src/config.js';
import { createLogger } from '../../src/ops/log.js';
import { freePort, type RunningService, startService } from '../support/service.js';

const TOKEN = 'metrics-token-for-tests-0123456789';
const SVC = '/cds-services/ecg-arrhythmia';
const FEEDBACK = `${SVC}/feedback`;
const QUIET = { DEMO_DATA: 'false', SUBSCRIPTIONS_ENSURE: 'false' };

/** Every log line the service wrote, as text. */
class Captured extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.text += chunk.toString('utf8');
    done();
  }
}

/** Label sets of one metric in a Prometheus text exposition. */
function labelsOf(exposition: string, metric: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const line of exposition.split('\n')) {
    const m = new RegExp(`^${metric}\\{([^}]*)\\} `).exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k!] = v!;
    out.push(labels);
  }
  return out;
}

describe('metrics surfaces', { timeout: 120_000 }, () => {
  let guarded: RunningService; // METRICS_TOKEN: /metrics on the public port behind the token
  let separate: RunningService; // METRICS_PORT only: /metrics on its own loopback listener
  const logs = new Captured();

  before(async () => {
    guarded = await startService({ ...QUIET, METRICS_TOKEN: TOKEN }, { log: createLogger('debug', logs) });
    separate = await startService({ ...QUIET, METRICS_PORT: String(await freePort()) });
  });
  after(async () => {
    await guarded?.stop();
    await separate?.stop();
  });

  it('is not served on the public port without METRICS_TOKEN (404 JSON)', async () => {
    const r = await request(separate.base).get('/metrics');
    assert.equal(r.status, 404);
    assert.deepEqual(r.body, { error: 'not found' });
    assert.doesNotMatch(r.text, /ecg_cds_/);
  });

  it('is served on METRICS_PORT, loopback only by default', async () => {
    assert.match(separate.metricsBase ?? '', /^http:\/\/127\.0\.0\.1:\d+$/);
    const r = await request(separate.metricsBase!).get('/metrics');
    assert.equal(r.status, 200);
    assert.match(r.text, /ecg_cds_execution_provider\{provider="cpu"\} 1/);
    assert.equal((await request(separate.metricsBase!).get('/cds-services')).status, 404);
  });

  it('on the public port it needs the bearer token', async () => {
    for (const auth of [undefined, 'Bearer wrong', `Bearer ${TOKEN}x`, `Basic ${TOKEN}`, 'Bearer ']) {
      let req = request(guarded.base).get('/metrics');
      if (auth !== undefined) req = req.set('Authorization', auth);
      const r = await req;
      assert.equal(r.status, 401, String(auth));
      assert.doesNotMatch(r.text, /ecg_cds_/);
    }
    const ok = await request(guarded.base).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    assert.equal(ok.status, 200);
    assert.match(ok.text, /ecg_cds_execution_provider/);
  });

  it('counts rejected JWTs without saying why; the reason is in the debug log only', async () => {
    const forged = ['not-a-jwt', 'eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.', ''];
    for (const t of forged) {
      const r = await request(guarded.base).get('/cds-services').set('Authorization', `Bearer ${t}`);
      assert.equal(r.status, 401);
    }
    const m = await request(guarded.base).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    const lines = m.text.split('\n').filter((l) => l.startsWith('ecg_cds_auth_failures_total'));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /^ecg_cds_auth_failures_total \d+$/);
    assert.ok(Number(lines[0]!.split(' ')[1]) >= forged.length);
    assert.doesNotMatch(m.text, /reason="(malformed|alg_not_allowed|missing_token)"/);
    assert.match(logs.text, /"event":"cds.auth-rejected","reason":"malformed"/);
  });

  it('feedback: random override codes all count as "other"; our own codes count by name', async () => {
    const own = new Set(OVERRIDE_REASON_CODES.map((c) => c.code));
    const send = async (reason: { system: string; code: string }) => {
      const body = {
        feedback: [
          {
            card: randomUUID(),
            outcome: 'overridden',
            overrideReason: { reason },
            outcomeTimestamp: new Date().toISOString(),
          },
        ],
      };
      const r = await request(guarded.base)
        .post(FEEDBACK)
        .set('Authorization', `Bearer ${await guarded.token(FEEDBACK)}`)
        .send(body);
      assert.equal(r.status, 200, r.text);
    };
    for (let i = 0; i < 5; i++) {
      const code = `${randomBytes(6).toString('hex')}-${i}`;
      await send({ system: i % 2 ? OVERRIDE_REASON_SYSTEM : `urn:x:${i}`, code });
    }
    // One of ours, but under another system: not ours.
    await send({ system: 'urn:someone-else', code: 'artifact' });
    await send({ system: OVERRIDE_REASON_SYSTEM, code: 'disagree' });

    const m = await request(guarded.base).get('/metrics').set('Authorization', `Bearer ${TOKEN}`);
    const series = labelsOf(m.text, 'ecg_cds_feedback_total');
    const allowed = new Set([...own, 'none', 'other']);
    for (const l of series) {
      assert.ok(allowed.has(l['reason']!), `unbounded reason label: ${l['reason']}`);
      assert.ok(['accepted', 'overridden'].includes(l['outcome']!), l['outcome']);
    }
    assert.ok(series.length <= allowed.size * 2);
    assert.match(m.text, /ecg_cds_feedback_total\{outcome="overridden",reason="other"\} 6\n/);
    assert.match(m.text, /ecg_cds_feedback_total\{outcome="overridden",reason="disagree"\} 1\n/);
  });

  it('feedback free text never reaches the log: only the comment length', async () => {
    const secretText = `Patient Jane Q Example MRN ${randomBytes(8).toString('hex')} said it hurt`;
    const displayText = `display ${randomBytes(8).toString('hex')}`;
    const oddCode = `code-${randomBytes(8).toString('hex')}`;
    const r = await request(guarded.base)
      .post(FEEDBACK)
      .set('Authorization', `Bearer ${await guarded.token(FEEDBACK)}`)
      .send({
        feedback: [
          {
            card: randomUUID(),
            outcome: 'overridden',
            overrideReason: {
              reason: { system: OVERRIDE_REASON_SYSTEM, code: oddCode, display: displayText },
              userComment: secretText,
            },
            outcomeTimestamp: new Date().toISOString(),
          },
        ],
      });
    assert.equal(r.status, 200, r.text);
    assert.ok(logs.text.includes(`"commentLength":${secretText.length}`), 'comment length logged');
    for (const text of [secretText, 'Jane Q Example', displayText, oddCode])
      assert.ok(!logs.text.includes(text), `logged: ${text}`);
  });

  it('feedback bodies are validated: 400 JSON naming the field, 413 past 100 entries', async () => {
    const entry = () => ({
      card: randomUUID(),
      outcome: 'accepted',
      outcomeTimestamp: new Date().toISOString(),
    });
    const cases: Array<[string, unknown, number, RegExp]> = [
      ['no feedback', {}, 400, /^feedback: /],
      ['feedback not a list', { feedback: 'x' }, 400, /^feedback: /],
      ['empty list', { feedback: [] }, 400, /^feedback: /],
      ['null entry', { feedback: [null] }, 400, /^feedback\[0\]: /],
      [
        'bad card',
        { feedback: [{ ...entry(), card: 'nope' }] },
        400,
        /^feedback\[0\]\.card: must be a card uuid/,
      ],
      [
        'bad outcome',
        { feedback: [entry(), { ...entry(), outcome: 'maybe' }] },
        400,
        /^feedback\[1\]\.outcome: /,
      ],
      [
        'bad timestamp',
        { feedback: [{ ...entry(), outcomeTimestamp: 'yesterday' }] },
        400,
        /outcomeTimestamp/,
      ],
      [
        'reason code not a string',
        { feedback: [{ ...entry(), overrideReason: { reason: { system: 's', code: 7 } } }] },
        400,
        /^feedback\[0\]\.overrideReason\.reason\.code: /,
      ],
      [
        'comment not a string',
        { feedback: [{ ...entry(), overrideReason: { userComment: { a: 1 } } }] },
        400,
        /^feedback\[0\]\.overrideReason\.userComment: /,
      ],
      ['101 entries', { feedback: Array.from({ length: 101 }, entry) }, 413, /at most 100/],
    ];
    for (const [what, body, status, message] of cases) {
      const r = await request(guarded.base)
        .post(FEEDBACK)
        .set('Authorization', `Bearer ${await guarded.token(FEEDBACK)}`)
        .send(body as object);
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.match(r.headers['content-type'] ?? '', /application\/json/);
      assert.match(String(r.body.error), message, what);
    }
    const notJson = await request(guarded.base)
      .post(FEEDBACK)
      .set('Authorization', `Bearer ${await guarded.token(FEEDBACK)}`)
      .set('Content-Type', 'application/json')
      .send('{"feedback": [');
    assert.equal(notJson.status, 400);
    assert.match(notJson.headers['content-type'] ?? '', /application\/json/);
  });
});

describe('metrics configuration', () => {
  it('METRICS_HOST defaults to loopback; a short token or METRICS_PORT = PORT stops start-up; the token is redacted', () => {
    const c = loadConfig({ METRICS_PORT: '9464', METRICS_TOKEN: TOKEN });
    assert.deepEqual(c.metrics, { port: 9464, host: '127.0.0.1', token: TOKEN });
    assert.deepEqual(loadConfig({}).metrics, { host: '127.0.0.1' });
    assert.throws(() => loadConfig({ METRICS_TOKEN: 'short' }), /METRICS_TOKEN/);
    assert.throws(() => loadConfig({ PORT: '9000', METRICS_PORT: '9000' }), /METRICS_PORT/);
    assert.doesNotMatch(JSON.stringify(redactedConfig(c)), new RegExp(TOKEN));
  });
});
