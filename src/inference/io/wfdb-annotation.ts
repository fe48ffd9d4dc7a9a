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
      if (p === n) break; // tolerate a missing end marker at an even boundary (wfdb-python does too)
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
      const skip = ((hi << 16) | lo) | 0;
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

/**
 * Encode annotations in MIT format (the inverse of {@link parseAnnotations}). Only symbol, sample
 * and aux are written; samples must be non-decreasing.
 */
export function encodeAnnotations(anns: readonly { sample: number; symbol: string; aux?: string }[]): Buffer {
  const bytes: number[] = [];
  const pushWord = (w: number) => bytes.push(w & 0xff, (w >> 8) & 0xff);
  let time = 0;
  for (const ann of anns) {
    const code = ANNOTATION_SYMBOLS.indexOf(ann.symbol);
    if (code <= 0) throw new RangeError(`unknown annotation symbol "${ann.symbol}"`);
    let delta = ann.sample - time;
    if (delta < 0) throw new RangeError('annotations must be sorted by sample');
    if (delta > 1023) {
      pushWord(SKIP << 10);
      pushWord((delta >>> 16) & 0xffff);
      pushWord(delta & 0xffff);
      delta = 0;
    }
    pushWord((code << 10) | delta);
    time = ann.sample;
    if (ann.aux) {
      const aux = Buffer.from(ann.aux, 'latin1');
      pushWord((AUX << 10) | aux.length);
      for (const b of aux) bytes.push(b);
      if (aux.length & 1) bytes.push(0);
    }
  }
  pushWord(0);
  return Buffer.from(bytes);
}
