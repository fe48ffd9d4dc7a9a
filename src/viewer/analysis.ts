/**
 * POST /viewer/api/analysis: the beat-level analysis the viewer draws (beat labels, runs, saliency,
 * noisy stretches), which our stored reports do not keep. The viewer names the Observation and the FHIR
 * server it was launched against and passes its SMART access token; we read the Observation from that
 * server with that token (so only someone who may read it gets its analysis), on the FHIR server
 * allow-list only (issue #11), decode it with the one codec, analyse it and answer an {@link EcgView}.
 * No waveform crosses this endpoint and nothing is written back.
 */
import type { RequestHandler } from 'express';
import { z } from 'zod';
import type { OriginAllowList } from '../cds-hooks/allowlist.js';
import type { FhirAccess } from '../fhir/client.js';
import { FhirRequestError } from '../fhir/client-errors.js';
import { DecodeError, decodeEcgObservation } from '../fhir/ecg-codec.js';
import type { AnalysisResult } from '../inference/analysis/types.js';
import type { Ecg } from '../inference/ecg.js';
import type { EcgView } from '../render/types.js';
import { viewOfEcg } from '../render/view.js';

export interface AnalysisEndpointDeps {
  readonly fhirServers: OriginAllowList;
  /** A FHIR client for an allowed server with the caller's token. */
  readonly fhirFor: (baseUrl: string, token: string) => FhirAccess;
  /**
   * Decode, analyse and draw-prepare one Observation ({@link ecgViewOf}) off the event loop, in the
   * analysis pool; rejects with a DecodeError for an ECG the codec refuses.
   */
  readonly view: (obs: fhir4.Observation) => Promise<EcgView>;
  /** Analyses at once; beyond it a 503 with Retry-After (analysis is CPU-bound). */
  readonly maxInFlight?: number;
}

const Body = z.object({
  fhirServer: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  observation: z.string().regex(/^Observation\/[A-Za-z0-9\-.]{1,64}$/, { error: 'must be Observation/<id>' }),
});

export function analysisEndpoint(deps: AnalysisEndpointDeps): RequestHandler {
  let inFlight = 0;
  const max = deps.maxInFlight ?? 2;
  return async (req, res) => {
    const parsed = Body.safeParse(req.body ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || 'body';
      return void res.status(400).json({ error: `${field}: ${issue.message}`, field });
    }
    const { fhirServer, observation } = parsed.data;
    if (!deps.fhirServers.allows(fhirServer))
      return void res.status(400).json({ error: 'fhirServer origin not allowed', field: 'fhirServer' });
    const m = /^Bearer\s+(\S+)$/i.exec(req.get('authorization') ?? '');
    if (!m) return void res.status(401).json({ error: 'Authorization: a SMART access token is required' });
    if (inFlight >= max)
      return void res.status(503).set('Retry-After', '2').json({ error: 'busy, retry shortly' });
    inFlight++;
    try {
      const obs = await deps
        .fhirFor(fhirServer, m[1]!)
        .read('Observation', observation.slice('Observation/'.length));
      const view = await deps.view(obs);
      res.set('Cache-Control', 'no-store').json({ view });
    } catch (err) {
      if (err instanceof DecodeError)
        return void res
          .status(422)
          .json({ error: `${err.path ?? 'Observation'}: ${err.message}`, field: err.path });
      if (err instanceof FhirRequestError) {
        const status = err.status === 401 || err.status === 403 || err.status === 404 ? err.status : 502;
        return void res.status(status).json({ error: `the FHIR server answered ${err.status ?? 'nothing'}` });
      }
      throw err;
    } finally {
      inFlight--;
    }
  };
}

/**
 * The view of one ECG Observation: decoded with the one codec, analysed, and, for a noisy ECG the
 * analysis refused, where the noise is (shaded on the tracing). Throws DecodeError. Run by the pool.
 */
export async function ecgViewOf(
  obs: fhir4.Observation,
  analyze: (ecg: Ecg) => Promise<AnalysisResult>,
): Promise<EcgView> {
  const ecg = decodeEcgObservation(obs);
  return viewOfEcg(ecg, await analyze(ecg));
}
