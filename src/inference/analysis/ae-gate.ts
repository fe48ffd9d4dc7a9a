/**
 * Autoencoder signal-quality / out-of-distribution gate (issue #3 item 5).
 *
 * A small convolutional autoencoder trained only on clean MIT-BIH segments (models/ae-quality.onnx) rebuilds
 * what looks like the ECG it learned; noise and unfamiliar signals come back poorly. A segment whose
 * reconstruction error exceeds the shipped threshold is unreliable and the analysis should abstain there.
 * It complements the statistical index of dsp/quality.ts (flat line, invalid samples, QRS-band noise
 * floor): that one sees a lead that cannot be read, this one a signal unlike clean training ECG, including
 * slow electrode-motion artefact that leaves the QRS band looking clean. A flat lead reconstructs well, so
 * flat lines are left to quality.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelLoadError } from '../model/manifest.js';
import type { ModelSession } from '../model/session.js';
import {
  AE_INPUT_VERSION,
  AE_SCALE,
  type AeScale,
  aeInputs,
  SEGMENT_LENGTH,
  toInputIndex,
} from './ae-input.js';

/** The model id under models/. */
export const AE_MODEL_ID = 'ae-quality';

export interface AeSegment {
  /** First sample of the segment, at the input rate. */
  readonly start: number;
  /** One past its last sample, at the input rate. */
  readonly end: number;
  /** Mean squared reconstruction error of the normalised segment. */
  readonly error: number;
  /** True when error > threshold: the analysis should not trust this stretch. */
  readonly unreliable: boolean;
}

export interface AeGateResult {
  readonly segments: AeSegment[];
  /** Unreliable segments / segments; 0 when the record is shorter than one 2.048-s segment. */
  readonly unreliableFraction: number;
}

/**
 * Gate one lead (`samples` in mV at `fs` Hz) with the autoencoder `model`: segments per the contract of
 * ae-input.ts, each marked unreliable when its reconstruction error exceeds `threshold`. `scale` is for
 * model-selection experiments only; a shipped model is always used with the contract's.
 */
export async function aeGate(
  model: ModelSession,
  samples: Float32Array,
  fs: number,
  threshold: number,
  scale: AeScale = AE_SCALE,
): Promise<AeGateResult> {
  if (!(threshold > 0)) throw new RangeError(`aeGate: threshold must be positive, got ${threshold}`);
  const inputs = aeInputs(samples, fs, { scale });
  const n = inputs.count;
  if (n === 0) return { segments: [], unreliableFraction: 0 };
  const input = model.manifest.inputs[0]!.name;
  const output = model.manifest.outputs[0]!.name;
  const result = await model.run({ [input]: { data: inputs.segments, dims: [n, 1, SEGMENT_LENGTH] } });
  const rec = result[output]?.data;
  if (!rec || rec.length !== inputs.segments.length) {
    throw new RangeError(
      `aeGate: model ${model.manifest.id} returned ${rec?.length ?? 0} values, expected ${n * SEGMENT_LENGTH}`,
    );
  }
  const errors = reconstructionErrors(inputs.segments, rec);
  const segments: AeSegment[] = [];
  let flagged = 0;
  for (let k = 0; k < n; k++) {
    const s = inputs.starts[k]!;
    const unreliable = errors[k]! > threshold;
    if (unreliable) flagged++;
    segments.push({
      start: toInputIndex(s, fs),
      end: Math.min(samples.length, toInputIndex(s + SEGMENT_LENGTH, fs)),
      error: errors[k]!,
      unreliable,
    });
  }
  return { segments, unreliableFraction: flagged / n };
}

/** Mean squared difference per 256-sample row (the error training/autoencoder/train.py thresholds). */
export function reconstructionErrors(x: Float32Array, y: Float32Array): Float64Array {
  const n = x.length / SEGMENT_LENGTH;
  const out = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    let s = 0;
    for (let t = k * SEGMENT_LENGTH; t < (k + 1) * SEGMENT_LENGTH; t++) s += (x[t]! - y[t]!) ** 2;
    out[k] = s / SEGMENT_LENGTH;
  }
  return out;
}

/** What `models/ae-quality.threshold.json` holds (written by training/autoencoder/train.py). */
export interface AeThreshold {
  readonly model: string;
  readonly threshold: number;
  readonly percentile: number;
  readonly chosenBy: string;
  readonly contract: { readonly name: string; readonly version: number; readonly scale: AeScale };
}

/**
 * Read `<dir>/ae-quality.threshold.json` and check that it was derived under this build's input contract
 * (version and normalisation), so a stale threshold fails at start-up, not silently (STYLE habit 8).
 * `anyScale` accepts another normalisation of the union (model-selection candidates only).
 */
export async function readAeThreshold(
  dir: string,
  id: string = AE_MODEL_ID,
  anyScale = false,
): Promise<AeThreshold> {
  const path = join(dir, `${id}.threshold.json`);
  let t: Partial<AeThreshold>;
  try {
    t = JSON.parse(await readFile(path, 'utf8')) as Partial<AeThreshold>;
  } catch (err) {
    throw new ModelLoadError(`${path}: cannot read threshold (${(err as Error).message})`, { cause: err });
  }
  const problems: string[] = [];
  if (t.model !== id) problems.push(`model is ${JSON.stringify(t.model)}, expected "${id}"`);
  if (typeof t.threshold !== 'number' || !(t.threshold > 0))
    problems.push('threshold must be a positive number');
  if (t.contract?.name !== 'ae-input' || t.contract.version !== AE_INPUT_VERSION) {
    problems.push(`contract ${JSON.stringify(t.contract)} is not ae-input v${AE_INPUT_VERSION}`);
  }
  const scales: readonly AeScale[] = anyScale
    ? ['record-r', 'segment-p98', 'segment-p98-record-cap']
    : [AE_SCALE];
  if (!scales.includes(t.contract?.scale as AeScale))
    problems.push(`scale ${t.contract?.scale} differs from the contract's ${AE_SCALE}`);
  if (problems.length) throw new ModelLoadError(`${path}: invalid threshold: ${problems.join('; ')}`);
  return t as AeThreshold;
}
