/**
 * Issue #9 as a clinician sees it: the demo patients' cards after the findings rework — the 0-dB noise
 * strip gets an "unable to analyse: poor signal quality" card (never silence), confidences never read
 * "100 %", and AF is named "AF or flutter" with its burden.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { postPatientView, type RunningService, startService } from '../support/service.js';

const _SVC = '/cds-services/ecg-arrhythmia';

describe('demo cards after the findings rework (issue #9)', { timeout: 120_000 }, () => {
  let s: RunningService;
  before(async () => {
    s = await startService();
  });
  after(async () => {
    await s?.stop();
  });
  const cardsFor = async (record: string) => {
    const patientId = s.seeded.find((x) => x.patient.record.includes(record))!.patient.id;
    const res = await postPatientView(s, patientId, { fhirServer: s.c.config.fhir.baseUrl });
    assert.equal(res.status, 200, res.text);
    return res.body.cards as { summary: string; detail: string; indicator: string }[];
  };

  it('the 0-dB noise strip → an info card "could not be analysed: poor signal quality" with the fraction', async () => {
    const cards = await cardsFor('118e00');
    assert.equal(cards.length, 1, JSON.stringify(cards));
    assert.equal(cards[0]!.indicator, 'info');
    assert.match(
      cards[0]!.summary,
      /could not be analysed by AI: poor signal quality: \d+ % of the recording is noise/,
    );
  });

  it('no card on any demo patient states 100 % confidence', async () => {
    for (const x of s.seeded) {
      const cards = await cardsFor(x.patient.record);
      for (const c of cards) {
        assert.doesNotMatch(c.summary, /100 % confidence|confidence 100 %/);
        assert.doesNotMatch(c.detail, /100 % confidence|confidence 100 %/);
        assert.match(`${c.summary}\n${c.detail}`, /confidence|could not be analysed/);
      }
    }
  });

  it('AF is named "atrial fibrillation or flutter" with its burden', async () => {
    const cards = await cardsFor('A00004');
    const af = cards.find((c) => /Atrial fibrillation or flutter/.test(c.summary));
    assert.ok(af, JSON.stringify(cards.map((c) => c.summary)));
    assert.match(af.detail, /burden \d+ % of/);
  });
});
