/**
 * Mutation fuzzing with fast-check (issue #11): take a valid JSON document (an ECG Observation, a CDS
 * Hooks request) and break it the ways a hostile client or a faulty EHR would — a wrong JSON type at any
 * path, nulls, deleted keys, strings where arrays belong, huge / tiny / NaN-like numbers, junk data
 * tokens, extra known keys. `npm run fuzz` raises the run counts (FUZZ_RUNS, FUZZ_HTTP_RUNS).
 */
import fc from 'fast-check';

/** Runs per decoder property: short in `npm test`, ≥ 100,000 in `npm run fuzz`. */
export const FUZZ_RUNS = runs('FUZZ_RUNS', 1500);
/** Runs per HTTP property (each one a real request through auth, prefetch, decode, analysis, write-back). */
export const FUZZ_HTTP_RUNS = runs('FUZZ_HTTP_RUNS', 150);
/** Reproduce a failure: FUZZ_SEED=<seed printed by fast-check>. */
export const FUZZ_SEED = process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) : undefined;

function runs(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

export type Path = ReadonlyArray<string | number>;

/** Every node below the root (objects, arrays and leaves), to the given depth; strings are leaves. */
export function pathsOf(v: unknown, maxDepth = 16, prefix: Path = [], out: Path[] = []): Path[] {
  if (prefix.length >= maxDepth || v === null || typeof v !== 'object') return out;
  const entries: Array<[string | number, unknown]> = Array.isArray(v)
    ? v.map((x, i) => [i, x])
    : Object.entries(v as Record<string, unknown>);
  for (const [k, x] of entries) {
    const p = [...prefix, k];
    out.push(p);
    pathsOf(x, maxDepth, p, out);
  }
  return out;
}

/** Object paths (where a key can be added). */
export function objectPathsOf(v: unknown): Path[] {
  const all: Path[] = [[], ...pathsOf(v)];
  return all.filter((p) => {
    const x = getAt(v, p);
    return x !== null && typeof x === 'object' && !Array.isArray(x);
  });
}

export function getAt(root: unknown, path: Path): unknown {
  let x = root;
  for (const k of path) {
    if (x === null || typeof x !== 'object') return undefined;
    x = (x as Record<string | number, unknown>)[k];
  }
  return x;
}

/** Marker: delete the key (or array element) instead of setting it. */
export const DELETE = Symbol('delete');
export type Value = unknown | typeof DELETE;

/** Set (or delete) `path` in `root` in place; a path whose parent is gone is ignored. */
export function setAt(root: unknown, path: Path, value: Value): void {
  if (path.length === 0) return;
  const parent = getAt(root, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return;
  const key = path[path.length - 1]!;
  if (value === DELETE) {
    if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
    else delete (parent as Record<string | number, unknown>)[key];
  } else {
    // defineProperty: a key named "__proto__" becomes an own property, as JSON.parse would make it.
    Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
  }
}

/** Numbers that break arithmetic: overflow, underflow, denormals, NaN, ±Infinity, -0, unsafe integers. */
export const nastyNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(
    0,
    -0,
    -1,
    1,
    0.5,
    1e-7,
    1e-300,
    5e-324,
    -5e-324,
    1e15,
    1e21,
    3.4e38,
    1e300,
    -1e300,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MAX_SAFE_INTEGER,
    2 ** 53 + 2,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ),
  fc.double(),
  fc.integer(),
);

export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'x',
    'null',
    'NaN',
    'Infinity',
    '1e400',
    '-1',
    '__proto__',
    'constructor',
    'toString',
    'uV',
    'mV',
    'V',
    'ms',
    's',
    'E',
    '131329',
    '131328',
    'urn:oid:2.16.840.1.113883.6.24',
    'http://unitsofmeasure.org',
    'http://hl7.org/fhir/StructureDefinition/observation-timeOffset',
    'SUBSETTED',
    '[click](javascript:alert(1))',
    'not a url',
    'javascript:alert(1)',
    'ftp://example.org/fhir',
    'http://127.0.0.1:9/fhir',
    '2024-13-45T99:99:99Z',
    '2024-01-01T00:00:00Z',
    'Observation',
    'Bundle',
    'Patient',
    'OperationOutcome',
  ),
  fc.string({ maxLength: 24 }),
);

/** Any JSON-ish value a broken client might send, plus NaN/Infinity (in-process) and deletion. */
export const nastyValue: fc.Arbitrary<Value> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(null) },
  { weight: 3, arbitrary: fc.constant(DELETE) },
  { weight: 4, arbitrary: nastyNumber },
  { weight: 4, arbitrary: nastyString },
  { weight: 1, arbitrary: fc.boolean() },
  {
    weight: 4,
    arbitrary: fc.constantFrom<unknown>([], [null], {}, ['x'], [{}], [[]], [1], { x: null }, [{ code: 5 }]),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** SampledData tokens: valid ones, masks, and junk (overflow, hex, unicode digits, lone signs). */
export const nastyToken: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'E',
    'L',
    'U',
    '1e400',
    '-1e400',
    '1e-400',
    'NaN',
    'Infinity',
    '0x10',
    '+',
    '-',
    '.',
    '1.',
    '.5',
    '1e308',
    '9'.repeat(16),
    '9'.repeat(40),
    '１',
    '1,5',
    '--1',
    'e5',
  ),
  fc.integer().map(String),
  fc.double().map(String),
);

/** One edit of a document, applied in place by {@link applyMutation}. */
export type Mutation =
  | { readonly kind: 'set'; readonly path: Path; readonly value: Value }
  | { readonly kind: 'tokens'; readonly path: Path; readonly edits: ReadonlyArray<[number, string]> }
  | { readonly kind: 'truncate'; readonly path: Path; readonly keep: number };

export function applyMutation(doc: unknown, m: Mutation): void {
  if (m.kind === 'set') {
    setAt(doc, m.path, m.value);
    return;
  }
  const s = getAt(doc, m.path);
  if (typeof s !== 'string') return;
  const tokens = s.split(' ');
  if (m.kind === 'truncate') {
    setAt(doc, m.path, tokens.slice(0, m.keep).join(' '));
    return;
  }
  for (const [i, t] of m.edits) tokens[i % tokens.length] = t;
  setAt(doc, m.path, tokens.join(' '));
}

/**
 * Mutations of `doc`: a nasty value at any existing path, a known key added to any object, number
 * perturbations at numeric leaves, and token edits in `data` strings. `keys` are the element names
 * worth adding (the reader's own vocabulary, so the fuzzer reaches code behind optional fields).
 */
export function mutationOf(doc: unknown, keys: readonly string[]): fc.Arbitrary<Mutation> {
  const paths = pathsOf(doc);
  const objects = objectPathsOf(doc);
  const numeric = paths.filter((p) => typeof getAt(doc, p) === 'number');
  const data = paths.filter((p) => p[p.length - 1] === 'data' && typeof getAt(doc, p) === 'string');
  const arbs: Array<fc.WeightedArbitrary<Mutation>> = [
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('set' as const),
        path: fc.constantFrom(...paths),
        value: nastyValue,
      }),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...objects), fc.constantFrom(...keys), nastyValue)
        .map(([p, k, value]) => ({ kind: 'set' as const, path: [...p, k], value })),
    },
  ];
  if (numeric.length > 0)
    arbs.push({
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('set' as const),
        path: fc.constantFrom(...numeric),
        value: nastyNumber,
      }),
    });
  if (data.length > 0) {
    arbs.push({
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('tokens' as const),
        path: fc.constantFrom(...data),
        edits: fc.array(fc.tuple(fc.nat(), nastyToken), { minLength: 1, maxLength: 4 }),
      }),
    });
    arbs.push({
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('truncate' as const),
        path: fc.constantFrom(...data),
        keep: fc.nat({ max: 400 }),
      }),
    });
  }
  return fc.oneof(...arbs);
}

/** A copy of one of `bases` with 1–`max` mutations applied (in order; later ones may miss). */
export function mutated<T>(
  bases: readonly T[],
  keys: readonly string[],
  max = 3,
): fc.Arbitrary<{ doc: unknown; mutations: readonly Mutation[] }> {
  return fc
    .integer({ min: 0, max: bases.length - 1 })
    .chain((i) =>
      fc.tuple(fc.constant(i), fc.array(mutationOf(bases[i], keys), { minLength: 1, maxLength: max })),
    )
    .map(([i, mutations]) => {
      const doc = structuredClone(bases[i]);
      for (const m of mutations) applyMutation(doc, m);
      return { doc, mutations };
    });
}

/** Counts by outcome, for the closing diagnostic line of a fuzz test. */
export class Tally {
  private readonly counts = new Map<string, number>();
  add(outcome: string): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
  }
  get total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
  toString(): string {
    return [...this.counts.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
  }
}
