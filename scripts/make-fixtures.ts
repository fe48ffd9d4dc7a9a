/**
 * Cut the small reference excerpts under test/fixtures/ from the PhysioNet databases in ../shared/data.
 *
 *   npx tsx scripts/make-fixtures.ts
 *
 * Excerpts keep the original digital values (no resampling, filtering or rescaling) and the original
 * signal format; their headers carry new first values and checksums. Annotations inside the excerpt
 * are kept with samples shifted to the cut. The rhythm in force at the cut (the last `+` before it)
 * is inserted at sample 0, and so is the signal quality in force (the last `~`) when it is not
 * clean, since both are state changes a reader of the excerpt would otherwise lose. Whole records
 * (CinC 2017, PTB-XL) are copied byte for byte. The README written beside them carries the
 * attribution the ODC-By and CC BY licences require, and the SHA-256 of every file.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAnnotations, readWfdbRecord } from '../src/inference/io/record.js';
import { type Annotation, BEAT_SYMBOLS } from '../src/inference/io/wfdb-annotation.js';
import { type WritableFormat, writeAnnotationFile, writeWfdbRecord } from '../src/inference/io/wfdb-write.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const DATA = process.env['ECG_SHARED_DATA'] ?? resolve(ROOT, '..', 'shared', 'data');
const OUT = join(ROOT, 'test', 'fixtures');

interface Excerpt {
  readonly db: 'mitdb' | 'nstdb' | 'svdb-dev';
  readonly record: string;
  readonly fromMin: number;
  readonly toMin: number;
  readonly shows: string;
}

const EXCERPTS: readonly Excerpt[] = [
  {
    db: 'mitdb',
    record: '100',
    fromMin: 0,
    toMin: 5,
    shows: 'normal sinus rhythm, clean; MLII and V5, format 212',
  },
  {
    db: 'mitdb',
    record: '201',
    fromMin: 1,
    toMin: 4,
    shows: 'atrial fibrillation throughout (`(AFIB` in force from sample 60 of the record)',
  },
  {
    db: 'mitdb',
    record: '201',
    fromMin: 5,
    toMin: 9,
    shows:
      'paroxysmal atrial fibrillation: `(AFIB` until 6:19 and again 7:57–8:34 (37 s), nodal and sinus rhythm between',
  },
  {
    db: 'mitdb',
    record: '119',
    fromMin: 21,
    toMin: 24,
    shows:
      'ventricular bigeminy episodes (`(B`, about a third of the time) alternating with `(N` and trigeminy `(T`',
  },
  {
    db: 'mitdb',
    record: '105',
    fromMin: 20,
    toMin: 22,
    shows: 'noisy signal: `~` signal-quality annotations, both channels noisy or unreadable much of the time',
  },
  {
    db: 'mitdb',
    record: '102',
    fromMin: 10,
    toMin: 10.25,
    shows:
      'paced rhythm: a pacemaker spike at the onset of every QRS (all beats `/`), smeared by the recorder\'s 100 Hz band to about 12 ms; V5 and V2, format 212',
  },
  {
    db: 'nstdb',
    record: '118e00',
    fromMin: 5,
    toMin: 7,
    shows:
      'electrode-motion noise at 0 dB SNR added to record 118 (its first noisy 2-minute segment), format 16; the annotations are those of clean 118',
  },
  {
    db: 'svdb-dev',
    record: '848',
    fromMin: 4,
    toMin: 6,
    shows:
      'clean narrow-complex tachycardia at ~145 bpm, every beat N (issue #9: the old noise floor read all of it as noise); two unnamed leads, 128 Hz, format 212',
  },
  {
    db: 'svdb-dev',
    record: '809',
    fromMin: 16,
    toMin: 19,
    shows:
      'a run of 105 supraventricular beats from 17:11 (issue #10: the SVT-run finding); two unnamed leads, 128 Hz, format 212',
  },
];

const CINC = [
  { record: 'A00004', label: 'A', shows: 'atrial fibrillation (label A), 30 s' },
  { record: 'A00007', label: 'N', shows: 'normal sinus rhythm (label N), 30 s' },
];
const PTBXL = [
  { ecgId: 3, shows: 'normal ECG: `{NORM: 100, SR: 0}`, "sinusrhythmus normales ekg"' },
  { ecgId: 318, shows: 'atrial fibrillation: `{NDT: 100, DIG: 80, STD_: 0, AFIB: 0}`' },
  {
    ecgId: 351,
    shows:
      'clean fast ECG, ~156 bpm: `{AFIB: 100, NST_: 0}`, "atrial fibrillation with rapid ventricular response" (issue #9)',
  },
];

const two = (n: number) => String(n).padStart(2, '0');
/** The cut in a file name: `20m-22m`, or in seconds (`600s-615s`) when a cut point is not a whole minute. */
const cutLabel = (from: number, to: number) =>
  Number.isInteger(from) && Number.isInteger(to)
    ? `${from}m-${to}m`
    : `${Math.round(from * 60)}s-${Math.round(to * 60)}s`;
const clock = (sample: number, fs: number) =>
  `${two(Math.floor(sample / fs / 60))}:${two(Math.floor(sample / fs) % 60)}`;

/** Annotations in [start, end) shifted to the cut, with the rhythm (and noise) in force at `start` at 0. */
function cropAnnotations(anns: readonly Annotation[], start: number, end: number): Annotation[] {
  const inForce = (symbol: string) => anns.filter((a) => a.symbol === symbol && a.sample < start).at(-1);
  const atStart = (symbol: string) => anns.some((a) => a.symbol === symbol && a.sample === start);
  const head: Annotation[] = [];
  const rhythm = inForce('+');
  if (rhythm?.aux && !atStart('+')) head.push({ ...rhythm, sample: 0 });
  const quality = inForce('~');
  if (quality && quality.subtype !== 0 && !atStart('~')) head.push({ ...quality, sample: 0 });
  const body = anns
    .filter((a) => a.sample >= start && a.sample < end)
    .map((a) => ({ ...a, sample: a.sample - start }));
  return [...head, ...body];
}

interface Written {
  readonly dir: string;
  readonly files: string[];
  readonly summary: string;
}

async function cutExcerpt(x: Excerpt): Promise<Written> {
  const src = join(DATA, x.db, x.record);
  const rec = await readWfdbRecord(src);
  const { fs } = rec.header;
  const start = Math.round(x.fromMin * 60 * fs);
  const end = Math.round(x.toMin * 60 * fs);
  const name = `${x.db}-${x.record}-${cutLabel(x.fromMin, x.toMin)}`;
  const format = rec.header.signals[0]!.format;
  if (format !== 16 && format !== 212) throw new Error(`${src}: format ${format} is not writable`);
  const headerText = await readFile(`${src}.hea`, 'latin1');
  const dir = join(OUT, x.db);
  await mkdir(dir, { recursive: true });
  const written = await writeWfdbRecord(dir, {
    recordName: name,
    fs,
    format: format as WritableFormat,
    signals: rec.header.signals,
    digital: rec.digital.map((d) => d.slice(start, end)),
    comments: [
      ...rec.header.comments,
      `Excerpt of ${x.db}/${x.record}, samples ${start}-${end} (${clock(start, fs)}-${clock(end, fs)}), digital values unmodified`,
    ],
    lineEnding: headerText.includes('\r\n') ? '\r\n' : '\n',
  });
  const anns = cropAnnotations(await readAnnotations(src), start, end);
  const atr = await writeAnnotationFile(join(dir, name), 'atr', anns);
  const beats = anns.filter((a) => BEAT_SYMBOLS.has(a.symbol)).length;
  const rhythms = [...new Set(anns.filter((a) => a.symbol === '+').map((a) => `\`${a.aux}\``))].join(' ');
  const quality = anns.filter((a) => a.symbol === '~').length;
  return {
    dir: x.db,
    files: [written.header, written.signal, atr],
    summary:
      `| \`${x.db}/${name}\` | ${x.db} record ${x.record}, samples ${start}–${end} (${clock(start, fs)}–${clock(end, fs)}) ` +
      `| ${x.shows}. ${anns.length} annotations: ${beats} beats, rhythms ${rhythms || 'none'}, ${quality} \`~\` |`,
  };
}

async function copyCinc(): Promise<Written> {
  const dir = join(OUT, 'cinc2017');
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  for (const c of CINC) {
    for (const ext of ['hea', 'mat']) {
      await copyBytes(join(DATA, 'cinc2017', `${c.record}.${ext}`), join(dir, `${c.record}.${ext}`));
      files.push(join(dir, `${c.record}.${ext}`));
    }
  }
  const reference = (await readFile(join(DATA, 'cinc2017', 'REFERENCE-v3.csv'), 'latin1')).split(/\r?\n/);
  const rows = CINC.map((c) => {
    const row = reference.find((l) => l.startsWith(`${c.record},`));
    if (row !== `${c.record},${c.label}`)
      throw new Error(`REFERENCE-v3.csv: ${c.record} is "${row}", expected ${c.label}`);
    return row;
  });
  await writeFile(join(dir, 'REFERENCE.csv'), `${rows.join('\n')}\n`);
  files.push(join(dir, 'REFERENCE.csv'));
  const summary = CINC.map(
    (c) =>
      `| \`cinc2017/${c.record}\` | CinC 2017 training record ${c.record}, whole, byte for byte | ${c.shows} |`,
  ).join('\n');
  return { dir: 'cinc2017', files, summary };
}

async function copyPtbxl(): Promise<Written> {
  const dir = join(OUT, 'ptbxl');
  await mkdir(dir, { recursive: true });
  const files: string[] = [];
  const csv = (await readFile(join(DATA, 'ptbxl', 'ptbxl_database.csv'), 'latin1')).split('\n');
  const rows = [csv[0]!];
  for (const p of PTBXL) {
    const base = `${String(p.ecgId).padStart(5, '0')}_hr`;
    for (const ext of ['hea', 'dat']) {
      await copyBytes(
        join(DATA, 'ptbxl', 'records500', '00000', `${base}.${ext}`),
        join(dir, `${base}.${ext}`),
      );
      files.push(join(dir, `${base}.${ext}`));
    }
    const row = csv.find((l) => l.startsWith(`${p.ecgId},`));
    if (!row?.includes(`records500/00000/${base}`))
      throw new Error(`ptbxl_database.csv has no row for ${base}`);
    rows.push(row);
  }
  await writeFile(join(dir, 'ptbxl_database.csv'), Buffer.from(`${rows.join('\n')}\n`, 'latin1'));
  files.push(join(dir, 'ptbxl_database.csv'));
  const summary = PTBXL.map(
    (p) =>
      `| \`ptbxl/${String(p.ecgId).padStart(5, '0')}_hr\` | PTB-XL 1.0.1 ecg_id ${p.ecgId}, whole, byte for byte | ${p.shows}; 12 leads, 500 Hz, 10 s |`,
  ).join('\n');
  return { dir: 'ptbxl', files, summary };
}

/** Byte-for-byte copy that, unlike copyFile, does not carry the source's read-only mode along. */
async function copyBytes(from: string, to: string): Promise<void> {
  await writeFile(to, await readFile(from));
}

async function sha256(file: string): Promise<{ hash: string; size: number }> {
  const buf = await readFile(file);
  return { hash: createHash('sha256').update(buf).digest('hex'), size: buf.length };
}

const README = `# Test fixtures: PhysioNet excerpts

Small excerpts of the PhysioNet databases in \`../shared/data\` (see its README), so that reader,
DSP and analysis tests run without the full databases. Written by \`npx tsx scripts/make-fixtures.ts\`;
do not edit by hand. {{TOTAL}} in all.

**How they were made.** MIT-BIH, NST and SVDB excerpts keep the original digital samples and signal format
(no resampling, filtering or rescaling); only the header's first values and checksums are new, and
a header comment names the source and sample range. The \`.atr\` files hold the reference
annotations inside the excerpt with samples shifted by the cut start; the rhythm in force at the cut
(the last \`+\` before it, with its aux string such as \`(AFIB\`) is inserted as a \`+\` at sample 0,
and so is the signal quality in force (the last \`~\`, with its subtype) when it is not clean.
CinC 2017 and PTB-XL records are whole records copied byte for byte; \`cinc2017/REFERENCE.csv\` and
\`ptbxl/ptbxl_database.csv\` hold their rows of the official label files, unmodified.

| Fixture | Source | What it shows |
|---|---|---|
{{TABLE}}

## Licences and citations

- **MIT-BIH Arrhythmia Database** (mitdb 1.0.0), Open Data Commons Attribution License v1.0
  (ODC-By 1.0). Moody GB, Mark RG. The impact of the MIT-BIH Arrhythmia Database. IEEE Eng in Med
  and Biol 20(3):45-50 (May-June 2001). (PMID: 11446209). https://doi.org/10.13026/C2F305
- **MIT-BIH Noise Stress Test Database** (nstdb 1.0.0), ODC-By 1.0. Moody GB, Muldrow WE, Mark RG.
  A noise stress test for arrhythmia detectors. Computers in Cardiology 11:381-384 (1984).
  https://doi.org/10.13026/C2HS3T
- **PhysioNet/CinC Challenge 2017** training set, ODC-By 1.0. Clifford GD, Liu C, Moody B, Lehman LH,
  Silva I, Li Q, Johnson AEW, Mark RG. AF Classification from a Short Single Lead ECG Recording: the
  PhysioNet/Computing in Cardiology Challenge 2017. Computing in Cardiology 44 (2017).
  doi:10.22489/CinC.2017.065-469
- **PTB-XL** 1.0.1, Creative Commons Attribution 4.0 International (CC BY 4.0). Wagner P,
  Strodthoff N, Bousseljot R-D, Kreiseler D, Lunze FI, Samek W, Schaeffter T. PTB-XL, a large
  publicly available electrocardiography dataset. Scientific Data 7:154 (2020).
  https://doi.org/10.1038/s41597-020-0495-6 ; Wagner P, Strodthoff N, Bousseljot R-D, Samek W,
  Schaeffter T. PTB-XL, a large publicly available electrocardiography dataset (version 1.0.1).
  PhysioNet (2020). https://doi.org/10.13026/x4td-x982
- **MIT-BIH Supraventricular Arrhythmia Database** (svdb 1.0.0), ODC-By 1.0. Greenwald SD, Patil RS,
  Mark RG. Improved detection and classification of arrhythmias in noise-corrupted electrocardiograms
  using contextual information. Computers in Cardiology 1990:461-464. https://doi.org/10.13026/C2V30W
- All five: Goldberger AL, Amaral LAN, Glass L, Hausdorff JM, Ivanov PCh, Mark RG, Mietus JE,
  Moody GB, Peng C-K, Stanley HE. PhysioBank, PhysioToolkit, and PhysioNet: Components of a new
  research resource for complex physiologic signals. Circulation 101(23):e215-e220 (2000).

The excerpts are adaptations (cuts) of the licensed databases; the cut points are stated above.

## SHA-256

Check with \`sha256sum -c\` on this block, from this folder.

\`\`\`
{{HASHES}}
\`\`\`
`;

/** The hand-written sections after the generated part (FHIR examples), kept when the README is rewritten. */
async function handWrittenTail(): Promise<string> {
  const old = await readFile(join(OUT, 'README.md'), 'utf8').catch(() => '');
  const at = old.indexOf('\n## FHIR examples');
  return at < 0 ? '' : old.slice(at);
}

async function main(): Promise<void> {
  const tail = await handWrittenTail();
  for (const db of ['mitdb', 'nstdb', 'svdb-dev', 'cinc2017', 'ptbxl'])
    await rm(join(OUT, db), { recursive: true, force: true });
  const parts: Written[] = [];
  for (const x of EXCERPTS) parts.push(await cutExcerpt(x));
  parts.push(await copyCinc(), await copyPtbxl());
  const hashes: string[] = [];
  let total = 0;
  for (const part of parts) {
    for (const f of part.files) {
      const { hash, size } = await sha256(f);
      total += size;
      hashes.push(`${hash}  ${f.slice(OUT.length + 1)}`);
    }
  }
  const readme = README.replace('{{TABLE}}', parts.map((p) => p.summary).join('\n'))
    .replace('{{HASHES}}', hashes.join('\n'))
    .replace('{{TOTAL}}', `${(total / 1024).toFixed(0)} KiB`);
  await writeFile(join(OUT, 'README.md'), readme + tail);
  await writeFile(
    join(OUT, '.gitattributes'),
    '# Fixtures are byte-exact copies: no line-ending conversion.\n* -text\n',
  );
  console.log(`wrote ${hashes.length} files (${(total / 1024).toFixed(0)} KiB) under ${OUT}`);
}

await main();
