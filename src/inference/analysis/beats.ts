/** Beat classification: beat-model inputs → ONNX → calibrated AAMI class probabilities per beat. */
import type { ModelSession } from '../model/session.js';
import { softmaxRows } from '../model/session.js';
import { AAMI_CLASSES } from './aami.js';
import { beatInputs, RR_FEATURE_COUNT, WINDOW_LENGTH, windowTensor } from './beat-input.js';
import type { Beat } from './types.js';

/** Classify every R peak of one lead (`samples` in mV at `fs`). */
export async function classifyBeats(
  model: ModelSession,
  samples: Float32Array,
  fs: number,
  peaks: Int32Array,
): Promise<Beat[]> {
  const n = peaks.length;
  if (n === 0) return [];
  const { windows, rr } = beatInputs(samples, fs, peaks);
  // The manifest says whether the model takes the record template as a second channel.
  const channels = model.manifest.inputs.find((i) => i.name === 'window')?.shape[1] === 2 ? 2 : 1;
  const out = await model.run({
    window: { data: windowTensor(windows, n, channels), dims: [n, channels, WINDOW_LENGTH] },
    rr: { data: rr, dims: [n, RR_FEATURE_COUNT] },
  });
  const k = AAMI_CLASSES.length;
  const probs = softmaxRows(out['logits']!.data, k, model.manifest.temperature);
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
