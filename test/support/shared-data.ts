/**
 * Where the PhysioNet reference databases live for tests (see ../shared/data/README.md).
 *
 * They are not in this repository: tests that need them skip when they are absent, and the
 * excerpts committed under test/fixtures/ cover the same assertions offline.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/support/shared-data.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The shared data folder: `ECG_SHARED_DATA` if set, else ../shared/data beside the repository. */
export const SHARED_DATA = process.env['ECG_SHARED_DATA']
  ? resolve(process.env['ECG_SHARED_DATA'])
  : resolve(REPO_ROOT, '..', 'shared', 'data');

/** The committed excerpts (written by scripts/make-fixtures.ts). */
export const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');

/** True when the shared data folder holds the databases the tests read. */
export const hasSharedData = ['mitdb', 'nstdb', 'ptbxl', 'cinc2017'].every((db) =>
  existsSync(join(SHARED_DATA, db)),
);

/**
 * Pass as a node:test option, `test(name, { skip: skipUnlessSharedData }, fn)`: the test is skipped,
 * with this reason in the report, when the databases are absent.
 */
export const skipUnlessSharedData: string | false = hasSharedData
  ? false
  : '../shared/data not found: PhysioNet databases absent, see README';
