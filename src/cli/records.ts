/** Resolving `--records` arguments against a WFDB database directory. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordReadError } from '../inference/io/errors.js';

/**
 * `all` → the names in `<dir>/RECORDS`, else every `.hea` that has an `.atr` beside it;
 * otherwise a comma-separated list; `named` maps aliases (e.g. DS1) to lists.
 */
export async function resolveRecords(
  dir: string,
  spec: string,
  named: Readonly<Record<string, readonly string[]>> = {},
): Promise<string[]> {
  const alias = named[spec.toUpperCase()];
  if (alias) return [...alias];
  if (spec !== 'all') {
    return spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  try {
    const text = await readFile(join(dir, 'RECORDS'), 'latin1');
    const names = text
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter(Boolean);
    if (names.length) return names;
  } catch {
    // No RECORDS file: fall back to scanning the directory.
  }
  let files: string[];
  try {
    files = await readdir(dir);
  } catch {
    throw new RecordReadError(dir, 'database directory not found');
  }
  const set = new Set(files);
  return files
    .filter((f) => f.endsWith('.hea') && set.has(`${f.slice(0, -4)}.atr`))
    .map((f) => f.slice(0, -4))
    .sort();
}
