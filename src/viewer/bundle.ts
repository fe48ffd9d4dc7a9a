/**
 * The browser bundles (web/*.ts → JavaScript) built in memory with esbuild's API when the app starts,
 * so `npm ci && npm start` needs no build step and the renderer and ECG codec in src/ are the very
 * modules the browser runs (STYLE: one renderer, drawn the same everywhere).
 */
import { join } from 'node:path';
import { build } from 'esbuild';

/** web/ at the repository root. */
export const WEB_DIR = join(import.meta.dirname, '..', '..', 'web');
export const ENTRY_POINTS = ['viewer', 'launch', 'ehr'] as const;
export type EntryPoint = (typeof ENTRY_POINTS)[number];

/** Bundle each entry point for current browsers (ES2022 modules, minified, no source maps). */
export async function buildWebBundles(): Promise<ReadonlyMap<EntryPoint, string>> {
  const result = await build({
    entryPoints: Object.fromEntries(ENTRY_POINTS.map((e) => [e, join(WEB_DIR, `${e}.ts`)])),
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    outdir: '/bundles',
    logLevel: 'silent',
    legalComments: 'none',
    // FHIRCLIENT_PURE: fhirclient's build for current browsers (no fetch/AbortController polyfills).
    define: { 'process.env.NODE_ENV': '"production"', FHIRCLIENT_PURE: 'true' },
  });
  const out = new Map<EntryPoint, string>();
  for (const f of result.outputFiles) {
    const name = f.path.replace(/^.*\//, '').replace(/\.js$/, '') as EntryPoint;
    if ((ENTRY_POINTS as readonly string[]).includes(name)) out.set(name, f.text);
  }
  return out;
}
