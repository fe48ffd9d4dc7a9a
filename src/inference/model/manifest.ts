/**
 * Model manifests: what each shipped ONNX model promises (input/output names, types, shapes, labels,
 * the input contract it was trained on, calibration). Sessions are checked against them at load time,
 * so a mismatched model fails at start-up, not at the first request (STYLE habit 8).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface TensorSpec {
  readonly name: string;
  readonly type: 'float32';
  /** Dimensions: a number is fixed, a string names a symbolic (dynamic) axis such as "N". */
  readonly shape: ReadonlyArray<number | string>;
}

export interface ModelManifest {
  readonly id: string;
  readonly version: string;
  /** ONNX file name, relative to the manifest's folder. */
  readonly file: string;
  /** SHA-256 of the ONNX file (hex). */
  readonly sha256: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Class labels in output order. */
  readonly labels: readonly string[];
  /** Temperature for calibrated softmax (logits / T); 1 when uncalibrated. */
  readonly temperature: number;
  /** Input contract the model was trained on, e.g. { name: "beat-input", version: 1 }. */
  readonly contract: { readonly name: string; readonly version: number };
  /**
   * Beat models only: the most leads whose calibrated probabilities are averaged per beat (a per-lead
   * vote; the model was trained on every lead's windows). Absent or 1: the beat lead alone.
   */
  readonly leadVote?: number;
}

export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

/** Read and validate `<dir>/<id>.manifest.json`. */
export async function readManifest(dir: string, id: string): Promise<ModelManifest> {
  const path = join(dir, `${id}.manifest.json`);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new ModelLoadError(`${path}: cannot read model manifest (${(err as Error).message})`, {
      cause: err,
    });
  }
  const m = raw as Partial<ModelManifest>;
  const problems: string[] = [];
  if (m.id !== id) problems.push(`id is ${JSON.stringify(m.id)}, expected "${id}"`);
  for (const key of ['version', 'file', 'sha256'] as const) {
    if (typeof m[key] !== 'string' || m[key] === '') problems.push(`${key} missing`);
  }
  if (!Array.isArray(m.inputs) || m.inputs.length === 0) problems.push('inputs missing');
  if (!Array.isArray(m.outputs) || m.outputs.length === 0) problems.push('outputs missing');
  if (!Array.isArray(m.labels) || m.labels.length === 0) problems.push('labels missing');
  if (typeof m.temperature !== 'number' || !(m.temperature > 0))
    problems.push('temperature must be a positive number');
  if (!m.contract || typeof m.contract.name !== 'string' || typeof m.contract.version !== 'number') {
    problems.push('contract missing');
  }
  if (m.leadVote !== undefined && !(Number.isInteger(m.leadVote) && m.leadVote >= 1 && m.leadVote <= 12)) {
    problems.push('leadVote must be an integer from 1 to 12');
  }
  if (problems.length) throw new ModelLoadError(`${path}: invalid manifest: ${problems.join('; ')}`);
  return m as ModelManifest;
}
