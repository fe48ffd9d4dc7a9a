/**
 * The browser side of ecg-cds (issue #12) as one express Router mounted at `/`:
 *   /viewer/launch, /viewer   the SMART on FHIR waveform viewer (EHR launch, then the viewer page)
 *   /viewer/api/analysis      the beat-level analysis it draws (analysis.ts)
 *   /web/<name>.js, /web/style.css   the bundles (bundle.ts) and the style sheet
 *   /                          the demo EHR (demo mode only), with /demo-ehr/api/cds-token (demo-ehr.ts)
 */
import { join } from 'node:path';
import express, { type Router } from 'express';
import { type AnalysisEndpointDeps, analysisEndpoint } from './analysis.js';
import { buildWebBundles, type EntryPoint, WEB_DIR } from './bundle.js';
import { type DemoEhrDeps, demoEhrTokenEndpoint } from './demo-ehr.js';

export interface WebRouterDeps extends AnalysisEndpointDeps {
  /** Demo mode: the demo EHR at `/` and its token endpoint. */
  readonly demoEhr?: DemoEhrDeps;
  /** Called once if the bundles cannot be built (the pages then answer 503). */
  readonly onBuildError?: (err: Error) => void;
}

const page = (title: string, entry: EntryPoint) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title><link rel="stylesheet" href="/web/style.css"></head>
<body><div id="app" aria-live="polite">Loading…</div><script type="module" src="/web/${entry}.js"></script></body></html>`;

// The pages load only our own bundle and style sheet; the SVG is inline. No inline script, no eval.
const CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'self'";

export function webRouter(deps: WebRouterDeps): Router {
  const bundles = buildWebBundles();
  bundles.catch((err: Error) => deps.onBuildError?.(err));
  const router = express.Router();
  const html = (title: string, entry: EntryPoint) => (_req: express.Request, res: express.Response) => {
    res.set('Content-Security-Policy', CSP).type('html').send(page(title, entry));
  };
  router.get('/viewer/launch', html('ECG viewer — launching', 'launch'));
  router.get('/viewer', html('ECG viewer', 'viewer'));
  if (deps.demoEhr) {
    router.get('/', html('Demo EHR — ecg-cds', 'ehr'));
    router.post(
      '/demo-ehr/api/cds-token',
      express.json({ limit: '4kb' }),
      demoEhrTokenEndpoint(deps.demoEhr),
    );
  }
  router.post('/viewer/api/analysis', express.json({ limit: '4kb' }), analysisEndpoint(deps));
  router.get('/web/style.css', (_req, res) => {
    res.type('css').sendFile(join(WEB_DIR, 'style.css'));
  });
  router.get('/web/:name.js', async (req, res) => {
    const all = await bundles.catch(() => undefined);
    if (!all) return void res.status(503).json({ error: 'web bundles unavailable' });
    const js = all.get(req.params['name'] as EntryPoint);
    if (!js) return void res.status(404).json({ error: 'not found' });
    res.type('js').set('Cache-Control', 'no-cache').send(js);
  });
  return router;
}
