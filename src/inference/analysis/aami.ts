/**
 * AAMI heartbeat classes and the MIT-BIH inter-patient record split.
 *
 * Class mapping: ANSI/AAMI EC57:1998/(R)2008, table 1, as used by de Chazal, O'Dwyer & Reilly, "Automatic
 * classification of heartbeats using ECG morphology and heartbeat interval features", IEEE TBME
 * 51(7):1196-1206, 2004 (https://doi.org/10.1109/TBME.2004.827359). The DS1/DS2 split is de Chazal's
 * (2004, section II-A); the four paced records are excluded as EC57 recommends.
 */

/** AAMI classes in model-output order: index 0..4. */
export const AAMI_CLASSES = ['N', 'S', 'V', 'F', 'Q'] as const;
export type AamiClass = (typeof AAMI_CLASSES)[number];

/**
 * MIT-BIH beat mnemonic → AAMI class (EC57 table 1). N: normal and bundle branch block beats, atrial and
 * nodal escapes; S: supraventricular ectopics; V: ventricular ectopics and escapes; F: fusion of
 * ventricular and normal; Q: paced, fusion of paced and normal, unclassifiable.
 */
// biome-ignore format: one row per AAMI class, as in the standard's table
export const AAMI_OF_SYMBOL: Readonly<Record<string, AamiClass>> = {
  N: 'N', L: 'N', R: 'N', e: 'N', j: 'N',
  A: 'S', a: 'S', J: 'S', S: 'S',
  V: 'V', E: 'V',
  F: 'F',
  '/': 'Q', f: 'Q', Q: 'Q',
};

/** AAMI class index (0..4) of a beat mnemonic, or -1 when the mnemonic has no AAMI class. */
export function aamiIndex(symbol: string): number {
  const c = AAMI_OF_SYMBOL[symbol];
  return c === undefined ? -1 : AAMI_CLASSES.indexOf(c);
}

/** Training set of the inter-patient protocol (de Chazal 2004): 22 records. */
// biome-ignore format: the record lists read as in the paper
export const DS1: readonly string[] = [
  '101', '106', '108', '109', '112', '114', '115', '116', '118', '119', '122',
  '124', '201', '203', '205', '207', '208', '209', '215', '220', '223', '230',
];

/** Test set of the inter-patient protocol (de Chazal 2004): 22 records, opened only to report. */
// biome-ignore format: the record lists read as in the paper
export const DS2: readonly string[] = [
  '100', '103', '105', '111', '113', '117', '121', '123', '200', '202', '210',
  '212', '213', '214', '219', '221', '222', '228', '231', '232', '233', '234',
];

/** Records with paced rhythm, excluded from both sets (EC57 section 4.2.3). */
export const PACED_RECORDS: readonly string[] = ['102', '104', '107', '217'];

/** Named record sets for `--records` (see resolveRecords in src/cli/records.ts). */
export const RECORD_SETS: Readonly<Record<string, readonly string[]>> = { DS1, DS2 };
