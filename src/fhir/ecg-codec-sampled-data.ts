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

/** SampledData as it may arrive: R4 fields plus R5 `interval` / `intervalUnit`. */
export type SampledDataIn = fhir4.SampledData & { interval?: unknown; intervalUnit?: unknown };

export function leadNames(
  code: fhir4.CodeableConcept | undefined,
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
      throw new DecodeError('unknown-lead-code', `${where}: no known MDC lead code (${shown})`);
    }
    const base = code?.text?.trim() || 'unspecified';
    return dims === 1 ? [top ? 'unspecified' : base] : Array.from({ length: dims }, (_, d) => `ch${d + 1}`);
  }
  if (names.length !== dims) {
    throw new DecodeError(
      'dimension-mismatch',
      `${where}: dimensions ${dims} but ${names.length} lead code(s) (${names.join(', ')})`,
    );
  }
  return names;
}

export function extensionValue(sd: SampledDataIn, url: string): fhir4.Extension | undefined {
  return sd.extension?.find((e) => e.url === url);
}

/** Sample spacing in ms: R5 `interval`+`intervalUnit`, R4 `period` (ms, or the R5 unit extension's). */
export function periodMs(sd: SampledDataIn, where: string): number {
  const extUnit = extensionValue(sd, EXT_R5_INTERVAL_UNIT)?.valueCode;
  const extInterval = extensionValue(sd, EXT_R5_INTERVAL)?.valueDecimal;
  let value: unknown;
  let unit: unknown;
  if (sd.interval !== undefined) {
    value = sd.interval;
    unit = sd.intervalUnit ?? extUnit;
  } else if (sd.period !== undefined) {
    value = sd.period;
    unit = extUnit ?? 'ms'; // the xver mapping puts R5 interval in R4 period, in intervalUnit
  } else if (extInterval !== undefined) {
    value = extInterval;
    unit = extUnit;
  } else {
    throw new DecodeError('bad-sampled-data', `${where}: no period (R4) or interval (R5)`);
  }
  if (typeof unit !== 'string') {
    throw new DecodeError('bad-sampled-data', `${where}: R5 interval given without intervalUnit`);
  }
  const scale = TIME_TO_MS.get(unit);
  if (scale === undefined) throw new DecodeError('unknown-unit', `${where}: unknown time unit "${unit}"`);
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new DecodeError(
      'bad-sampled-data',
      `${where}: sample spacing must be a positive number, got ${String(value)}`,
    );
  }
  return value * scale;
}

export function timeOffsetMs(ext: fhir4.Extension[] | undefined, where: string): number | undefined {
  const e = ext?.find((x) => x.url === EXT_TIME_OFFSET);
  if (!e) return undefined;
  const v = e.valueInteger ?? e.valueDecimal;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new DecodeError('bad-sampled-data', `${where}: observation-timeOffset without a number`);
  }
  return v;
}

/** Factor from origin's unit to mV; 1 for a unitless origin (literal values, see the policy above). */
export function voltageToMv(origin: fhir4.Quantity | undefined, where: string): number {
  if (!origin) throw new DecodeError('bad-sampled-data', `${where}: SampledData has no origin`);
  if (origin.system !== undefined && origin.system !== UCUM_SYSTEM) {
    throw new DecodeError('unknown-unit', `${where}: origin unit system ${origin.system} is not UCUM`);
  }
  const unit = origin.code ?? origin.unit;
  if (unit === undefined) return 1;
  const f = VOLTAGE_TO_MV.get(unit);
  if (f === undefined) throw new DecodeError('unknown-unit', `${where}: unknown voltage unit "${unit}"`);
  return f;
}

export function finiteOr(v: unknown, fallback: number | undefined, what: string): number {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new DecodeError('bad-sampled-data', `${what} must be a finite number, got ${String(v)}`);
  }
  return v;
}

export function checkLimits(sd: SampledDataIn, where: string): void {
  const lo = sd.lowerLimit;
  const hi = sd.upperLimit;
  if (lo !== undefined) finiteOr(lo, undefined, `${where}: lowerLimit`);
  if (hi !== undefined) finiteOr(hi, undefined, `${where}: upperLimit`);
  if (lo !== undefined && hi !== undefined && lo > hi) {
    throw new DecodeError('bad-sampled-data', `${where}: lowerLimit ${lo} exceeds upperLimit ${hi}`);
  }
}
