/**
 * The SNOMED CT displays we write are the ones in the committed, sourced table docs/snomed-codes.md
 * (issue #13, item 3), and never the short name of a related disorder concept.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { SNOMED } from '../../src/fhir/write-back/codes.js';

interface Row {
  readonly key: string;
  readonly code: string;
  readonly display: string;
  readonly status: string;
  readonly source: string;
}

async function table(): Promise<Row[]> {
  const md = await readFile(new URL('../../docs/snomed-codes.md', import.meta.url), 'utf8');
  return md
    .split('\n')
    .filter((line) => /^\| *[a-zA-Z]+ *\| *\d+ *\|/.test(line))
    .map((line) => {
      const cells = line
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
      assert.equal(cells.length, 6, `six columns: ${line}`);
      const [key, code, display, , status, source] = cells as [
        string,
        string,
        string,
        string,
        string,
        string,
      ];
      return { key, code, display, status, source };
    });
}

describe('SNOMED CT displays (docs/snomed-codes.md)', () => {
  it('every concept we write is in the table with the same code and display, and nothing else is', async () => {
    const rows = await table();
    const byKey = new Map(rows.map((r) => [r.key, r]));
    assert.equal(byKey.size, rows.length, 'each key once');
    assert.deepEqual([...byKey.keys()].sort(), Object.keys(SNOMED).sort());
    for (const [key, concept] of Object.entries(SNOMED)) {
      const row = byKey.get(key);
      assert.equal(row?.code, concept.code, `${key}: code`);
      assert.equal(row?.display, concept.display, `${key}: display`);
    }
  });

  it('every verified row names a source URL; unverified rows say so', async () => {
    for (const row of await table()) {
      if (row.status === 'unverified') continue;
      assert.match(row.source, /https:\/\//, `${row.code} has a source`);
    }
  });

  it('displays carry no semantic tag and are not the names of the disorder twins', () => {
    // The short names of 49436004, 5370000, 25569003 (disorders) etc. are not the ECG findings' terms.
    const twinNames: Record<string, string> = {
      '164889003': 'Atrial fibrillation',
      '164890007': 'Atrial flutter',
      '426783006': 'Sinus rhythm',
      '426177001': 'Sinus bradycardia',
      '427084000': 'Sinus tachycardia',
      '426761007': 'Supraventricular tachycardia',
      '427172004': 'Premature ventricular contraction',
      '251143007': 'ECG artifact',
    };
    const displays = new Set<string>();
    for (const { code, display } of Object.values(SNOMED)) {
      assert.doesNotMatch(display, /\((finding|disorder)\)$/, `${code}: no semantic tag`);
      assert.notEqual(display, twinNames[code], `${code}: "${display}" is another concept's name`);
      assert.ok(!displays.has(display), `${code}: display "${display}" used twice`);
      displays.add(display);
    }
    assert.equal(SNOMED.atrialFibrillation.display, 'Electrocardiographic atrial fibrillation');
    assert.equal(SNOMED.pacedRhythm.display, 'Rhythm from artificial pacing');
    assert.equal(SNOMED.ecgArtifact.display, 'Electrocardiogram artifact');
  });
});
