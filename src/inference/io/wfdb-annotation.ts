/**
 * MIT-format WFDB annotation files (.atr, .qrs, ...): reading and writing.
 *
 * Layout from the WFDB "annot(5)" manual page (https://physionet.org/physiotools/wag/annot-5.htm):
 * 16-bit little-endian words, 6-bit code A (high bits) and 10-bit interval I. Pseudo-codes:
 * SKIP (59, followed by a 32-bit interval stored high word first), NUM (60), SUB (61), CHN (62),
 * AUX (63, I = byte count, followed by the bytes padded to even). A = 0, I = 0 ends the file.
 */
import { RecordReadError } from './errors.js';

export interface Annotation {
  /** Sample index (time) of the annotation. */
  readonly sample: number;
  /** Annotation mnemonic, e.g. "N", "V", "+", "~". */
  readonly symbol: string;
  readonly code: number;
  readonly subtype: number;
  readonly chan: number;
  readonly num: number;
  /** Auxiliary text; for rhythm changes ("+") this is the rhythm, e.g. "(AFIB". */
  readonly aux: string;
}

/** Annotation codes → mnemonics, as in WFDB's ecgcodes.h. */
// biome-ignore format: a table indexed by code reads better on two lines
export const ANNOTATION_SYMBOLS: readonly string[] = [
  ' ', 'N', 'L', 'R', 'a', 'V', 'F', 'J', 'A', 'S', 'E', 'j', '/', 'Q', '~', '', '|', '', 's', 'T', '*',
  'D', '"', '=', 'p', 'B', '^', 't', '+', 'u', '?', '!', '[', ']', 'e', 'n', '@', 'x', 'f', '(', ')', 'r',
];

const SKIP = 59;
const NUM = 60;
const SUB = 61;
const CHN = 62;
const AUX = 63;

/** Beat annotation mnemonics (WFDB isqrs), the reference beats of EC57 evaluation. */
// biome-ignore format: a short list of mnemonics
export const BEAT_SYMBOLS: ReadonlySet<string> = new Set([
  'N', 'L', 'R', 'B', 'A', 'a', 'J', 'S', 'V', 'r', 'F', 'e', 'j', 'n', 'E', '/', 'f', 'Q', '?',
]);

/** Parse an MIT-format annotation buffer. `file` is used in error messages. */
export function parseAnnotations(buf: Uint8Array, file: string): Annotation[] {
  const out: Annotation[] = [];
  const n = buf.length;
  let p = 0;
  let time = 0;
  let chan = 0;
  let num = 0;
  let pending: { sample: number; code: number; subtype: number; aux: string } | undefined;
  const flush = () => {
    if (pending) {
      out.push({ ...pending, symbol: ANNOTATION_SYMBOLS[pending.code] ?? `[${pending.code}]`, chan, num });
      pending = undefined;
    }
  };
  for (;;) {
    if (p + 2 > n) {
      // Every annotation file ends with the word 0 (annot(5)); without it the file was cut short,
      // and a cut at an even byte would otherwise pass silently with its last annotations missing.
      if (p === n) throw new RecordReadError(file, `truncated: no end-of-file marker after ${p} bytes`);
      throw new RecordReadError(file, `truncated annotation word at byte ${p}`);
    }
    const word = buf[p]! | (buf[p + 1]! << 8);
    p += 2;
    const a = word >> 10;
    const i = word & 0x3ff;
    if (a === 0 && i === 0) break;
    if (a === SKIP) {
      if (p + 4 > n) throw new RecordReadError(file, `truncated SKIP interval at byte ${p}`);
      // PDP-11 long: high 16-bit word first, each word little-endian.
      const hi = buf[p]! | (buf[p + 1]! << 8);
      const lo = buf[p + 2]! | (buf[p + 3]! << 8);
      const skip = (hi << 16) | lo | 0;
      time += skip;
      p += 4;
    } else if (a === NUM) {
      num = signed10(i);
    } else if (a === SUB) {
      if (pending) pending.subtype = signed10(i);
    } else if (a === CHN) {
      chan = i;
    } else if (a === AUX) {
      if (p + i > n) throw new RecordReadError(file, `truncated AUX string at byte ${p}`);
      let end = p + i;
      while (end > p && buf[end - 1] === 0) end--;
      const aux = Buffer.from(buf.buffer, buf.byteOffset + p, end - p).toString('latin1');
      if (pending) pending.aux = aux;
      p += i + (i & 1);
    } else {
      flush();
      time += i;
      pending = { sample: time, code: a, subtype: 0, aux: '' };
    }
  }
  flush();
  return out;
}

function signed10(i: number): number {
  return i > 511 ? i - 1024 : i;
}

/** What {@link encodeAnnotations} writes; subtype, chan and num default to 0 (WFDB's defaults). */
export interface AnnotationToWrite {
  readonly sample: number;
  readonly symbol: string;
  /** Annotation code; taken from `symbol` when absent (needed only for codes without a mnemonic). */
  readonly code?: number;
  readonly subtype?: number;
  readonly chan?: number;
  readonly num?: number;
  readonly aux?: string;
}

/** Longest AUX string WFDB writes (the C library stores its length in one byte). */
const MAX_AUX_BYTES = 255;

/**
 * Encode annotations in MIT format, the inverse of {@link parseAnnotations} (annot(5)). Samples must
 * be non-decreasing. SUB is written for a non-zero subtype; CHN and NUM only when they change, since
 * readers carry them over from the previous annotation.
 */
export function encodeAnnotations(anns: readonly AnnotationToWrite[]): Buffer {
  const bytes: number[] = [];
  const pushWord = (w: number) => bytes.push(w & 0xff, (w >> 8) & 0xff);
  let time = 0;
  let chan = 0;
  let num = 0;
  for (const ann of anns) {
    const code = ann.code ?? ANNOTATION_SYMBOLS.indexOf(ann.symbol);
    if (!Number.isInteger(code) || code <= 0 || code >= SKIP) {
      throw new RangeError(`unknown annotation symbol "${ann.symbol}" (code ${code})`);
    }
    if (!Number.isInteger(ann.sample)) {
      throw new RangeError(`annotation sample ${ann.sample} is not an integer`);
    }
    let delta = ann.sample - time;
    if (delta < 0) throw new RangeError('annotations must be sorted by sample');
    if (delta > 1023) {
      if (delta > 0x7fffffff) throw new RangeError(`annotation gap ${delta} exceeds a 32-bit SKIP`);
      pushWord(SKIP << 10);
      pushWord((delta >>> 16) & 0xffff); // PDP-11 long: high word first
      pushWord(delta & 0xffff);
      delta = 0;
    }
    pushWord((code << 10) | delta);
    time = ann.sample;
    const subtype = ann.subtype ?? 0;
    if (subtype !== 0) pushWord((SUB << 10) | to10(subtype, 'subtype'));
    if ((ann.chan ?? 0) !== chan) {
      chan = ann.chan ?? 0;
      if (!Number.isInteger(chan) || chan < 0 || chan > 1023) {
        throw new RangeError(`chan ${chan} out of range`);
      }
      pushWord((CHN << 10) | chan);
    }
    if ((ann.num ?? 0) !== num) {
      num = ann.num ?? 0;
      pushWord((NUM << 10) | to10(num, 'num'));
    }
    if (ann.aux) {
      // NUL-terminated, the NUL counted in I, as in PhysioNet's own files (mitdb writes "(N" as 3 bytes).
      const aux = Buffer.from(`${ann.aux}\0`, 'latin1');
      if (aux.length > MAX_AUX_BYTES) {
        throw new RangeError(`aux string longer than ${MAX_AUX_BYTES - 1} bytes`);
      }
      pushWord((AUX << 10) | aux.length);
      for (const b of aux) bytes.push(b);
      if (aux.length & 1) bytes.push(0);
    }
  }
  pushWord(0);
  return Buffer.from(bytes);
}

/** A signed value in the 10-bit I field (two's complement, -512..511). */
function to10(v: number, what: string): number {
  if (!Number.isInteger(v) || v < -512 || v > 511) throw new RangeError(`${what} ${v} does not fit 10 bits`);
  return v & 0x3ff;
}
