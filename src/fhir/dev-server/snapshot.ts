/**
 * Optional persistence so a demo survives restarts: every stored version, as one JSON file,
 * written atomically (temporary file + rename, so a crash never leaves half a file).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { StoredVersion } from './repository.js';

const FORMAT = 'ecg-cds/dev-fhir-snapshot';

interface SnapshotFile {
  readonly format: typeof FORMAT;
  readonly version: 1;
  readonly savedAt: string;
  readonly resources: readonly (readonly StoredVersion[])[];
}

/** Versions saved at `path`, or undefined when there is no file yet. A corrupt file is an error, not a reset. */
export async function readSnapshot(path: string): Promise<StoredVersion[][] | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let parsed: Partial<SnapshotFile>;
  try {
    parsed = JSON.parse(text) as Partial<SnapshotFile>;
  } catch {
    throw new Error(`FHIR snapshot ${path} is not valid JSON; move it aside to start empty`);
  }
  if (
    parsed.format !== FORMAT ||
    parsed.version !== 1 ||
    !Array.isArray(parsed.resources) ||
    !parsed.resources.every(isVersionList)
  ) {
    throw new Error(`FHIR snapshot ${path} is not an ${FORMAT} v1 file`);
  }
  return parsed.resources.map((versions) => [...versions]);
}

function isVersionList(value: unknown): value is StoredVersion[] {
  if (!Array.isArray(value) || value.length === 0) return false;
  const first = (value[0] as Partial<StoredVersion>).resource;
  return value.every((v: Partial<StoredVersion>) => {
    const r = v?.resource;
    return (
      typeof v?.deleted === 'boolean' &&
      typeof r?.resourceType === 'string' &&
      r.resourceType === first?.resourceType &&
      typeof r.id === 'string' &&
      r.id === first.id
    );
  });
}

/** Write `resources` to `path` atomically. */
export async function writeSnapshot(
  path: string,
  resources: readonly (readonly StoredVersion[])[],
): Promise<void> {
  const file: SnapshotFile = { format: FORMAT, version: 1, savedAt: new Date().toISOString(), resources };
  // Serialise before the first await, so the file is one consistent moment of the store.
  const text = JSON.stringify(file);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await mkdir(dirname(path), { recursive: true });
  try {
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export interface SnapshotScheduler {
  /** Ask for a save after `delayMs` of quiet (writes in bursts cost one save). */
  schedule(): void;
  /** Save now (after any save in progress) and cancel a pending one. */
  flush(): Promise<void>;
  /** Cancel the pending save without saving. */
  cancel(): void;
}

/** Debounced, serialised saves: never two writes to the file at once. */
export function createSnapshotScheduler(
  save: () => Promise<void>,
  delayMs: number,
  onError: (err: unknown) => void,
): SnapshotScheduler {
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  const run = (): Promise<void> => {
    chain = chain.then(save);
    const result = chain;
    chain = chain.catch(() => undefined);
    return result;
  };
  const cancel = (): void => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  return {
    schedule() {
      cancel();
      timer = setTimeout(() => {
        timer = undefined;
        run().catch(onError);
      }, delayMs);
      timer.unref();
    },
    flush() {
      cancel();
      return run();
    },
    cancel,
  };
}
