/**
 * CDS Hooks conformance checks for tests: the published OpenAPI schemas (1.1, test/fixtures/cds-hooks,
 * converted to JSON Schema for ajv as ../shared/specs/README.md describes) plus the 2.0 rules the schema
 * cannot see (summary < 140, no null/empty values, Coding.system, override reason display, ...).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { load } from 'js-yaml';
import { FIXTURES } from './shared-data.js';

type Schema = Record<string, unknown>;

function convert(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(convert);
  if (node && typeof node === 'object') {
    const out: Schema = {};
    for (const [k, v] of Object.entries(node as Schema)) {
      if (k === '$ref' && typeof v === 'string')
        out[k] = v.replace('#/components/schemas/', '#/definitions/');
      else if (['example', 'externalDocs', 'xml', 'discriminator'].includes(k) || k.startsWith('x-'))
        continue;
      else out[k] = convert(v);
    }
    return out;
  }
  return node;
}

const doc = load(readFileSync(join(FIXTURES, 'cds-hooks', 'openapi.yaml'), 'utf8')) as {
  components: { schemas: Schema };
};
const definitions = convert(doc.components.schemas) as Schema;
const ajv = new Ajv({ strict: false, allErrors: true });
(addFormats as unknown as (a: Ajv) => void)(ajv);
// "an absolute http(s) URL that new URL() accepts" (specs README)
ajv.addFormat('url', (s: string) => {
  try {
    return /^https?:$/.test(new URL(s).protocol);
  } catch {
    return false;
  }
});

const validators = new Map<string, ReturnType<Ajv['compile']>>();

/** Schema errors of `value` against the named root schema ([] when valid). */
export function schemaErrors(
  root: 'CdsServiceInformation' | 'CdsResponse' | 'CdsRequest' | 'Feedback',
  value: unknown,
): string[] {
  let v = validators.get(root);
  if (!v) {
    v = ajv.compile({ definitions, $ref: `#/definitions/${root}` });
    validators.set(root, v);
  }
  return v(value) ? [] : (v.errors ?? []).map((e) => `${e.instancePath} ${e.message}`);
}

/** CDS Hooks 2.0 rules beyond the schema, for a service response. */
export function responseRuleErrors(body: { cards?: unknown[] }): string[] {
  const errors: string[] = [];
  walkNoEmpty(body, '', errors);
  for (const [i, c] of (body.cards ?? []).entries()) {
    const card = c as Record<string, unknown>;
    if (typeof card['summary'] === 'string' && card['summary'].length >= 140)
      errors.push(`cards[${i}].summary ≥ 140 chars`);
    for (const [j, r] of ((card['overrideReasons'] as Schema[] | undefined) ?? []).entries()) {
      if (typeof r['system'] !== 'string') errors.push(`cards[${i}].overrideReasons[${j}].system missing`);
      if (typeof r['display'] !== 'string') errors.push(`cards[${i}].overrideReasons[${j}].display missing`);
    }
    const topic = (card['source'] as Schema | undefined)?.['topic'] as Schema | undefined;
    if (topic && typeof topic['system'] !== 'string') errors.push(`cards[${i}].source.topic.system missing`);
    if (card['suggestions'] && !card['selectionBehavior'])
      errors.push(`cards[${i}].selectionBehavior missing`);
    for (const [j, l] of ((card['links'] as Schema[] | undefined) ?? []).entries())
      if (l['appContext'] !== undefined && l['type'] !== 'smart')
        errors.push(`cards[${i}].links[${j}] appContext on non-smart link`);
  }
  return errors;
}

/** 2.0: no null, "", [] or {} anywhere, except a top-level `cards: []` / `services: []`. */
export function walkNoEmpty(node: unknown, path: string, errors: string[]): void {
  if (node === null) errors.push(`${path || '<root>'} is null`);
  else if (node === '') errors.push(`${path} is ""`);
  else if (Array.isArray(node)) {
    if (node.length === 0 && !/^\.(cards|services)$/.test(path)) errors.push(`${path} is []`);
    for (const [i, x] of node.entries()) walkNoEmpty(x, `${path}[${i}]`, errors);
  } else if (typeof node === 'object') {
    const entries = Object.entries(node as Schema);
    if (entries.length === 0) errors.push(`${path} is {}`);
    for (const [k, v] of entries) walkNoEmpty(v, `${path}.${k}`, errors);
  }
}
