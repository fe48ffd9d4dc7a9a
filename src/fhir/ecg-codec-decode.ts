/**
 * FHIR Observation (`valueSampledData`, R4 or R5 form) → {@link Ecg}.
 * SampledData: https://hl7.org/fhir/R4/datatypes.html#SampledData and https://hl7.org/fhir/R5/datatypes.html#SampledData
 *
 * Policies, each a deliberate choice:
 * - Value = `origin.value + factor × datum`, then scaled to mV by `origin`'s UCUM unit (uV/µV/mV/V).
 *   An origin without any unit (as in the HL7 example "ekg") decodes to the literal values, unscaled:
 *   nothing says what they are, so we neither guess µV nor refuse the example the spec ships.
 * - `E`, `L`, `U` tokens and gaps between parts of a lead are marked in the lead's `invalid` mask; the sample
 *   holds the last valid value (the first valid one at the start), as the WFDB reader does.
 * - `lowerLimit` / `upperLimit` are checked for sense but do not clip or mask numeric data: the HL7
 *   example's literal values lie above its own upperLimit and a conforming decoder still returns them.
 * - Leads are named by MDC lead code (both MDC systems). A component coded only with MDC 131328
 *   (unspecified lead), and a top-level `valueSampledData`, decode as a lead named by `code.text` or
 *   "unspecified" ("ch1"… when `dimensions` > 1); any other component code is an `unknown-lead-code`.
 * - Parts of one lead (several components with the same lead) are placed on one timeline by the
 *   `observation-timeOffset` extension (ms), or follow each other in document order without it.
 * - Input is hostile until checked (issue #11): JSON types first (`malformed`, with the field's path),
 *   then sense. A rate outside `minRateHz..maxRateHz` (25–10,000 Hz) and a sample that is not finite or
 *   beyond ±`maxAbsSample` after origin/factor/unit are refused, never passed on as ±Infinity or 1e-298 Hz.
 */
import type { Ecg, Lead } from '../inference/ecg.js';
import { CODEC_LIMITS, type CodecLimits, DecodeError } from './ecg-codec-errors.js';
import {
  checkLimits,
  leadNames,
  periodMs,
  type SampledDataIn,
  sdPath,
  timeOffsetMs,
  voltageToMv,
} from './ecg-codec-sampled-data.js';
import {
  type CodeableConceptIn,
  type EcgObservationIn,
  type ExtensionIn,
  readEcgObservation,
} from './ecg-codec-schema.js';
import { fillPart, holdInvalid, scanTokens, type TokenSource } from './ecg-codec-tokens.js';

interface Part extends TokenSource {
  /** One lead name per dimension. */
  readonly leads: readonly string[];
  readonly nSamples: number;
  readonly periodMs: number;
  readonly offsetMs: number | undefined;
}

/**
 * Decode an ECG Observation into an {@link Ecg} (leads in mV, invalid mask, fs, start time).
 * Throws {@link DecodeError} with a stable code, and nothing else whatever `obs` holds: its structure is
 * checked first (ecg-codec-schema.ts), all limits before the samples they guard are allocated, every
 * sample and the rate after. A decoded ECG has only finite samples and a rate within the limits.
 */
export function decodeEcgObservation(obs: unknown, limits?: Partial<CodecLimits>): Ecg {
  const lim: CodecLimits = { ...CODEC_LIMITS, ...limits };
  const rt =
    obs !== null && typeof obs === 'object' ? (obs as { resourceType?: unknown }).resourceType : undefined;
  if (rt !== 'Observation') {
    const got =
      typeof rt === 'string' ? rt : obs === null || typeof obs !== 'object' ? String(obs) : typeof rt;
    throw new DecodeError(
      'no-sampled-data',
      `expected an Observation, got ${got.slice(0, 40)}`,
      'resourceType',
    );
  }
  const o = readEcgObservation(obs);
  const raw: {
    where: string;
    sd: SampledDataIn;
    code: CodeableConceptIn | undefined;
    top: boolean;
    ext?: ExtensionIn[];
  }[] = [];
  if (o.valueSampledData)
    raw.push({ where: 'valueSampledData', sd: o.valueSampledData, code: o.code, top: true });
  (o.component ?? []).forEach((c, i) => {
    if (c.valueSampledData) {
      raw.push({
        where: `component[${i}]`,
        sd: c.valueSampledData,
        code: c.code,
        top: false,
        ...(c.extension ? { ext: c.extension } : {}),
      });
    }
  });
  if (raw.length === 0) {
    throw new DecodeError(
      'no-sampled-data',
      'Observation has no valueSampledData, neither top-level nor in a component',
    );
  }

  // Pass 1: read every part's tokens (one pass over its characters; datums kept, bad tokens noted but
  // raised in pass 3 where their lead is filled) and its metadata.
  let tokenBudget = lim.maxTotalTokens;
  const parts: Part[] = raw.map(({ where, sd, code, top, ext }) => {
    const data = sd.data;
    if (data === undefined) {
      throw new DecodeError('no-sampled-data', `${where}: SampledData has no data`, sdPath(where, 'data'));
    }
    const dims = sd.dimensions;
    if (dims === undefined || !Number.isInteger(dims) || dims < 1) {
      throw new DecodeError(
        'bad-sampled-data',
        `${where}: dimensions must be a positive integer, got ${String(dims)}`,
        sdPath(where, 'dimensions'),
      );
    }
    // Each dimension is a lead: more than the lead limit fails before any per-lead structure is built.
    if (dims > lim.maxLeads) {
      throw new DecodeError(
        'too-many-leads',
        `${where}: dimensions ${dims} exceed the limit of ${lim.maxLeads} leads (maxLeads)`,
        sdPath(where, 'dimensions'),
      );
    }
    // A string longer than the allowed tokens could fill fails before a character is read.
    const budget = Math.min(tokenBudget, lim.maxSamplesPerLead * dims);
    if (data.length > (budget + 1) * (lim.maxTokenChars + 1)) {
      throw new DecodeError(
        'too-many-samples',
        `${where}: data of ${data.length} characters holds more tokens than the limits allow ` +
          `(maxSamplesPerLead ${lim.maxSamplesPerLead}, maxTotalTokens ${lim.maxTotalTokens})`,
        sdPath(where, 'data'),
      );
    }
    const scan = scanTokens(where, data, dims, lim.maxTokenChars, budget + 1);
    const tokens = scan.count;
    if (tokens > budget) {
      throw new DecodeError(
        'too-many-samples',
        tokens > tokenBudget
          ? `${where}: more than ${lim.maxTotalTokens} data tokens in all (limit maxTotalTokens)`
          : `${where}: more than ${lim.maxSamplesPerLead} samples per lead (limit maxSamplesPerLead)`,
        sdPath(where, 'data'),
      );
    }
    if (tokens === 0)
      throw new DecodeError('no-sampled-data', `${where}: SampledData data is empty`, sdPath(where, 'data'));
    tokenBudget -= tokens;
    if (tokens % dims !== 0) {
      throw new DecodeError(
        'dimension-mismatch',
        `${where}: ${tokens} data tokens is not a multiple of dimensions ${dims}`,
        sdPath(where, 'dimensions'),
      );
    }
    checkLimits(sd, where);
    return {
      where,
      scan,
      dims,
      maxAbsSample: lim.maxAbsSample,
      leads: leadNames(code, dims, where, top),
      nSamples: tokens / dims,
      periodMs: periodMs(sd, where, lim),
      offsetMs: timeOffsetMs(ext, where),
      toMv: voltageToMv(sd.origin, where),
      origin: originValue(sd, where),
      factor: sd.factor ?? 1,
    };
  });

  // A rate within 1 ppm of a whole number is that number: encoders print periods like 2.777778 ms (360 Hz).
  const rawFs = 1000 / parts[0]!.periodMs;
  const fs = Math.abs(rawFs - Math.round(rawFs)) <= 1e-6 * rawFs ? Math.round(rawFs) : rawFs;
  for (const p of parts) {
    if (Math.abs(p.periodMs - parts[0]!.periodMs) > 1e-6 * parts[0]!.periodMs) {
      throw new DecodeError(
        'inconsistent-rate',
        `${p.where}: sample spacing ${p.periodMs} ms differs from ${parts[0]!.where}'s ${parts[0]!.periodMs} ms`,
        sdPath(p.where, 'period'),
      );
    }
  }

  // Pass 2: place every part on one timeline (sample indices), per lead.
  const byLead = new Map<string, { part: Part; dim: number; start: number }[]>();
  const nextStart = new Map<string, number>();
  for (const part of parts) {
    const offset = part.offsetMs === undefined ? undefined : Math.round((part.offsetMs * fs) / 1000);
    // An offset so large that sample indices lose integer precision cannot be placed on any timeline.
    if (offset !== undefined && !Number.isSafeInteger(offset)) {
      throw new DecodeError(
        'too-many-samples',
        `${part.where}: observation-timeOffset ${part.offsetMs} ms is beyond any timeline`,
        `${part.where}.extension`,
      );
    }
    part.leads.forEach((lead, dim) => {
      const start = offset ?? nextStart.get(lead) ?? 0;
      nextStart.set(lead, start + part.nSamples);
      const list = byLead.get(lead) ?? [];
      list.push({ part, dim, start });
      byLead.set(lead, list);
    });
  }
  if (byLead.size > lim.maxLeads) {
    throw new DecodeError(
      'too-many-leads',
      `${byLead.size} leads exceed the limit of ${lim.maxLeads} (maxLeads)`,
      'component',
    );
  }
  let t0 = Number.POSITIVE_INFINITY;
  let t1 = Number.NEGATIVE_INFINITY;
  for (const [lead, list] of byLead) {
    list.sort((a, b) => a.start - b.start);
    list.forEach((seg, k) => {
      t0 = Math.min(t0, seg.start);
      t1 = Math.max(t1, seg.start + seg.part.nSamples);
      const prev = list[k - 1];
      if (prev && seg.start < prev.start + prev.part.nSamples) {
        throw new DecodeError(
          'overlapping-segments',
          `lead ${lead}: ${seg.part.where} overlaps ${prev.part.where} in time`,
          `${seg.part.where}.extension`,
        );
      }
    });
  }
  // Comparisons are written so that NaN fails them (it cannot arise from checked inputs; belt and braces).
  const n = t1 - t0;
  if (!(n <= lim.maxSamplesPerLead)) {
    throw new DecodeError(
      'too-many-samples',
      `leads span ${n} samples, more than ${lim.maxSamplesPerLead} per lead (limit maxSamplesPerLead)`,
    );
  }
  if (!(n / fs >= lim.minDurationSeconds)) {
    throw new DecodeError(
      'too-short',
      `ECG lasts ${(n / fs).toFixed(3)} s, shorter than the minimum ${lim.minDurationSeconds} s`,
    );
  }

  // Pass 3: allocate and fill (datums → mV, range checks, E/L/U and gaps in the mask).
  const leads: Lead[] = [];
  for (const [name, list] of byLead) {
    const samples = new Float32Array(n);
    const invalid = new Uint8Array(n).fill(1);
    for (const { part, dim, start } of list) fillPart(part, dim, start - t0, samples, invalid);
    leads.push(holdInvalid(name, samples, invalid));
  }
  const effective = effectiveStart(o);
  const startTime = effective === undefined ? undefined : new Date(effective + (t0 / fs) * 1000);
  return {
    leads,
    fs,
    sourceId: o.id ? `Observation/${o.id}` : 'Observation',
    ...(startTime && Number.isFinite(startTime.getTime()) ? { startTime } : {}),
  };
}

/** `origin.value`, required by R4 (SampledData.origin is a SimpleQuantity with a value). */
function originValue(sd: SampledDataIn, where: string): number {
  const v = sd.origin?.value;
  if (v === undefined)
    throw new DecodeError('bad-sampled-data', `${where}: origin has no value`, sdPath(where, 'origin.value'));
  return v;
}

function effectiveStart(obs: EcgObservationIn): number | undefined {
  const s = obs.effectiveDateTime ?? obs.effectiveInstant ?? obs.effectivePeriod?.start;
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : undefined;
}
