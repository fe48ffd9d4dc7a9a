/** Beat classification: beat-model inputs → ONNX → calibrated AAMI class probabilities per beat. */
import type { ModelSession } from '../model/session.js';
import { softmaxRows } from '../model/session.js';
import { AAMI_CLASSES } from './aami.js';
import { beatInputs, RR_FEATURE_COUNT, WINDOW_LENGTH, windowTensor } from './beat-input.js';
import type { Beat } from './types.js';

/**
 * Classify every R peak (`samples` in mV at `fs`). With several leads (the beat lead first), each lead's
 * beats go through the model in one batch and the calibrated probabilities are averaged per beat: a
 * per-lead vote, for models trained on every lead's windows (manifest `leadVote`, issue #10: chosen by
 * record-wise CV over MIT-BIH DS1 and svdb-dev). Extra leads beyond the manifest's `leadVote` are ignored.
 */
export async function classifyBeats(
  model: ModelSession,
  samples: Float32Array | readonly Float32Array[],
  fs: number,
  peaks: Int32Array,
): Promise<Beat[]> {
  const n = peaks.length;
  if (n === 0) return [];
  const all = samples instanceof Float32Array ? [samples] : samples;
  const leads = all.slice(0, Math.max(1, model.manifest.leadVote ?? 1));
  const L = leads.length;
  // The manifest says whether the model takes the record template as a second channel.
  const channels = model.manifest.inputs.find((i) => i.name === 'window')?.shape[1] === 2 ? 2 : 1;
  const per = leads.map((x) => beatInputs(x, fs, peaks));
  const out = await model.run({
    window: {
      data: concat(per.map((p) => windowTensor(p.windows, n, channels))),
      dims: [L * n, channels, WINDOW_LENGTH],
    },
    rr: { data: concat(per.map((p) => p.rr)), dims: [L * n, RR_FEATURE_COUNT] },
  });
  const k = AAMI_CLASSES.length;
  const probs = meanOverLeads(softmaxRows(out['logits']!.data, k, model.manifest.temperature), L, n * k);
  const beats: Beat[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const row = Array.from(probs.subarray(i * k, (i + 1) * k));
    let best = 0;
    for (let c = 1; c < k; c++) if (row[c]! > row[best]!) best = c;
    beats[i] = {
      sample: peaks[i]!,
      time: peaks[i]! / fs,
      label: AAMI_CLASSES[best]!,
      probabilities: row,
      reliable: true,
    };
  }
  return beats;
}

/** One lead's rows after another (the single lead itself when there is one). */
function concat(parts: readonly Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Mean of `L` consecutive blocks of `block` numbers (`x` itself when L is 1). */
function meanOverLeads(x: Float32Array, L: number, block: number): Float32Array {
  if (L === 1) return x;
  const out = new Float32Array(block);
  for (let j = 0; j < L; j++) for (let i = 0; i < block; i++) out[i]! += x[j * block + i]! / L;
  return out;
}
