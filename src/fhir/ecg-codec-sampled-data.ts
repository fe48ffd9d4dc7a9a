/**
 * Reading one SampledData element's metadata: lead names from the code, sample spacing (R4 `period`,
 * R5 `interval` + `intervalUnit`, or the R5 cross-version extensions on R4), time offset, voltage unit.
 */
import {
  EXT_R5_INTERVAL,
  EXT_R5_INTERVAL_UNIT,
  EXT_TIME_OFFSET,
  LEAD_BY_MDC_CODE,
  MDC_ECG_ELEC_POTL,
  MDC_SYSTEMS,
  TIME_TO_MS,
  UCUM_SYSTEM,
  VOLTAGE_TO_MV,
} from './ecg-codec-codes.js';
import { DecodeError } from './ecg-codec-errors.js';
import type { CodeableConceptIn, ExtensionIn, QuantityIn, SampledDataIn } from './ecg-codec-schema.js';

export type { SampledDataIn } from './ecg-codec-schema.js';

/*
 * Inputs here have passed `readEcgObservation` (ecg-codec-schema.ts): JSON types are right, numbers
 * finite. `where` names the part: `component[2]`, or `valueSampledData` for the top-level element.
 */

/** Path of a part's SampledData (and one of its fields), for {@link DecodeError.path}. */
export function sdPath(where: string, field?: string): string {
  const sd = where === 'valueSampledData' ? where : `${where}.valueSampledData`;
  return field ? `${sd}.${field}` : sd;
}

export function leadNames(
  code: CodeableConceptIn | undefined,
  dims: number,
  where: string,
  top: boolean,
): string[] {
  const codings = code?.coding ?? [];
  const names: string[] = [];
  let generic = false;
  for (const c of codings) {
    if (!c.system || !MDC_SYSTEMS.has(c.system) || !c.code) continue;
    const lead = LEAD_BY_MDC_CODE.get(c.code);
    if (lead && !names.includes(lead)) names.push(lead); // one lead coded in both MDC systems counts once
    if (c.code === MDC_ECG_ELEC_POTL) generic = true;
  }
  if (names.length === 0) {
    if (!top && !generic) {
      const shown = codings.map((c) => `${c.system ?? '?'}|${c.code ?? '?'}`).join(', ') || 'no coding';
      throw new DecodeError(
        'unknown-lead-code',
        `${where}: no known MDC lead code (${shown})`,
        `${where}.code`,
      );
    }
    const base = code?.text?.trim() || 'unspecified';
    return dims === 1 ? [top ? 'unspecified' : base] : Array.from({ length: dims }, (_, d) => `ch${d + 1}`);
  }
  if (names.length !== dims) {
    throw new DecodeError(
      'dimension-mismatch',
      `${where}: dimensions ${dims} but ${names.length} lead code(s) (${names.join(', ')})`,
      sdPath(where, 'dimensions'),
    );
  }
  return names;
}

export function extensionValue(sd: SampledDataIn, url: string): ExtensionIn | undefined {
  return sd.extension?.find((e) => e.url === url);
}

/**
 * Sample spacing in ms: R5 `interval`+`intervalUnit`, R4 `period` (ms, or the R5 unit extension's).
 * The rate it gives must lie within `minRateHz..maxRateHz` (`rate-out-of-range`): a period of 1e-300 ms
 * or 1e300 s is no ECG, and 1000 / period must stay a finite, usable number.
 */
export function periodMs(
  sd: SampledDataIn,
  where: string,
  rates: { readonly minRateHz: number; readonly maxRateHz: number },
): number {
  const extUnit = extensionValue(sd, EXT_R5_INTERVAL_UNIT)?.valueCode;
  const extInterval = extensionValue(sd, EXT_R5_INTERVAL)?.valueDecimal;
  let value: number;
  let unit: string | undefined;
  let field: string;
  if (sd.interval !== undefined) {
    value = sd.interval;
    unit = sd.intervalUnit ?? extUnit;
    field = 'interval';
  } else if (sd.period !== undefined) {
    value = sd.period;
    unit = extUnit ?? 'ms'; // the xver mapping puts R5 interval in R4 period, in intervalUnit
    field = 'period';
  } else if (extInterval !== undefined) {
    value = extInterval;
    unit = extUnit;
    field = 'extension';
  } else {
    throw new DecodeError('bad-sampled-data', `${where}: no period (R4) or interval (R5)`, sdPath(where));
  }
  if (unit === undefined) {
    throw new DecodeError(
      'bad-sampled-data',
      `${where}: R5 interval given without intervalUnit`,
      sdPath(where, 'intervalUnit'),
    );
  }
  const scale = TIME_TO_MS.get(unit);
  if (scale === undefined)
    throw new DecodeError('unknown-unit', `${where}: unknown time unit "${unit}"`, sdPath(where, field));
  if (!(value > 0)) {
    throw new DecodeError(
      'bad-sampled-data',
      `${where}: sample spacing must be a positive number, got ${value}`,
      sdPath(where, field),
    );
  }
  const ms = value * scale;
  const hz = 1000 / ms;
  if (!(hz >= rates.minRateHz && hz <= rates.maxRateHz)) {
    throw new DecodeError(
      'rate-out-of-range',
      `${where}: sample spacing ${value} ${unit} gives ${hz.toPrecision(3)} Hz, outside ` +
        `${rates.minRateHz}..${rates.maxRateHz} Hz (limits minRateHz, maxRateHz)`,
      sdPath(where, field),
    );
  }
  return ms;
}

export function timeOffsetMs(ext: readonly ExtensionIn[] | undefined, where: string): number | undefined {
  const i = ext?.findIndex((x) => x.url === EXT_TIME_OFFSET) ?? -1;
  if (i < 0) return undefined;
  const e = ext![i]!;
  const v = e.valueInteger ?? e.valueDecimal;
  if (v === undefined) {
    throw new DecodeError(
      'bad-sampled-data',
      `${where}: observation-timeOffset without a number`,
      `${where}.extension[${i}]`,
    );
  }
  return v;
}

/** Factor from origin's unit to mV; 1 for a unitless origin (literal values, see the policy above). */
export function voltageToMv(origin: QuantityIn | undefined, where: string): number {
  if (!origin)
    throw new DecodeError('bad-sampled-data', `${where}: SampledData has no origin`, sdPath(where, 'origin'));
  if (origin.system !== undefined && origin.system !== UCUM_SYSTEM) {
    throw new DecodeError(
      'unknown-unit',
      `${where}: origin unit system ${origin.system} is not UCUM`,
      sdPath(where, 'origin.system'),
    );
  }
  const unit = origin.code ?? origin.unit;
  if (unit === undefined) return 1;
  const f = VOLTAGE_TO_MV.get(unit);
  if (f === undefined)
    throw new DecodeError(
      'unknown-unit',
      `${where}: unknown voltage unit "${unit}"`,
      sdPath(where, origin.code === undefined ? 'origin.unit' : 'origin.code'),
    );
  return f;
}

export function checkLimits(sd: SampledDataIn, where: string): void {
  const lo = sd.lowerLimit;
  const hi = sd.upperLimit;
  if (lo !== undefined && hi !== undefined && lo > hi) {
    throw new DecodeError(
      'bad-sampled-data',
      `${where}: lowerLimit ${lo} exceeds upperLimit ${hi}`,
      sdPath(where, 'lowerLimit'),
    );
  }
}
