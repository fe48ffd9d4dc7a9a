/**
 * The set of models the analysis runs: which model fills each role is named in `<dir>/shipped.json`
 * (e.g. {"beat": "beat-cnn", "rhythm": "rhythm-cnn", "quality": "ae-quality"}), so choosing a different
 * family is a data change. The quality role is the autoencoder gate, with its threshold file.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readAeThreshold } from '../analysis/ae-gate.js';
import type { FindingCalibration } from '../analysis/calibration.js';
import { ModelLoadError } from './manifest.js';
import { loadModel, type ModelSession, type SessionOptions } from './session.js';

export const MODEL_ROLES = ['beat', 'rhythm', 'quality'] as const;
export type ModelRole = (typeof MODEL_ROLES)[number];

export type Engine = Readonly<Record<ModelRole, ModelSession>> & {
  /** Reconstruction-error threshold of the quality autoencoder. */
  readonly qualityThreshold: number;
  /** Per-finding confidence calibration (`finding-calibration.json`), empty when the file is absent. */
  readonly findingCalibration: FindingCalibration;
  dispose(): Promise<void>;
};

/** Which model id fills each role. */
export async function readShipped(dir: string): Promise<Record<ModelRole, string>> {
  const path = join(dir, 'shipped.json');
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ModelLoadError(`${path}: cannot read (${(err as Error).message})`, { cause: err });
  }
  const out = {} as Record<ModelRole, string>;
  for (const role of MODEL_ROLES) {
    const id = raw[role];
    if (typeof id !== 'string') throw new ModelLoadError(`${path}: no model named for role "${role}"`);
    out[role] = id;
  }
  return out;
}

/** Load every shipped model (checked against its manifest); fails at start-up, not at the first ECG. */
export async function loadEngine(dir: string, opts: SessionOptions = {}): Promise<Engine> {
  const shipped = await readShipped(dir);
  const [beat, rhythm, quality] = await Promise.all(
    MODEL_ROLES.map((role) => loadModel(dir, shipped[role], opts)),
  );
  const { threshold } = await readAeThreshold(dir, shipped.quality);
  const findingCalibration = await readFindingCalibration(dir);
  return {
    findingCalibration,
    beat: beat!,
    rhythm: rhythm!,
    quality: quality!,
    qualityThreshold: threshold,
    async dispose() {
      await Promise.all([beat!.dispose(), rhythm!.dispose(), quality!.dispose()]);
    },
  };
}

/** Load the model filling one role (evaluation commands need only one). */
export async function loadRole(
  dir: string,
  role: ModelRole,
  opts: SessionOptions = {},
): Promise<ModelSession> {
  const shipped = await readShipped(dir);
  return loadModel(dir, shipped[role], opts);
}

/**
 * One version string for the whole model set, e.g. "beat-cnn@2.0.0+rhythm-cnn@1.0.0+ae-quality@1.0.0":
 * results are keyed by it, so shipping any new model re-analyses history (issue #5).
 */
export function modelSetVersion(engine: Engine): string {
  return MODEL_ROLES.map((r) => `${engine[r].manifest.id}@${engine[r].manifest.version}`).join('+');
}

/** The execution provider actually running (cpu when any model fell back). */
export function engineProvider(engine: Engine): string {
  const set = new Set(MODEL_ROLES.map((r) => engine[r].provider));
  return set.size === 1 ? [...set][0]! : [...set].join(',');
}

/** `<dir>/finding-calibration.json`: `{"maps": {"<finding code>": {"a": 1, "b": 0}}}`; absent → no maps. */
export async function readFindingCalibration(dir: string): Promise<FindingCalibration> {
  const path = join(dir, 'finding-calibration.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return {};
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(`${path}: not JSON (${(err as Error).message})`, { cause: err });
  }
  const maps = (raw as { maps?: unknown }).maps;
  if (typeof maps !== 'object' || maps === null) throw new ModelLoadError(`${path}: no "maps" object`);
  const out: Record<string, { a: number; b: number }> = {};
  for (const [code, m] of Object.entries(maps)) {
    const { a, b } = (m ?? {}) as { a?: unknown; b?: unknown };
    if (typeof a !== 'number' || typeof b !== 'number' || !Number.isFinite(a) || !Number.isFinite(b))
      throw new ModelLoadError(`${path}: maps.${code} needs finite numbers a and b`);
    out[code] = { a, b };
  }
  return out as FindingCalibration;
}
