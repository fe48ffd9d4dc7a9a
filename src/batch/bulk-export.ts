/**
 * Bulk Data `$export` as the nightly job's reader (https://hl7.org/fhir/uv/bulkdata/export.html):
 * kick-off with `Prefer: respond-async`, poll the Content-Location honouring Retry-After (seconds or an
 * HTTP date), download the NDJSON files of the manifest, and delete the export when done. Only
 * id/meta/code are asked for (`_elements`); a server that ignores it sends whole ECGs, which also works.
 */
import { ECG_OBSERVATION_CODES } from '../fhir/ecg-codec.js';
import { type EcgReader, type EcgRef, isEcg, refOf } from './reader.js';

export interface BulkExportOptions {
  /** FHIR base URL (no trailing slash needed). */
  readonly baseUrl: string;
  readonly token?: string;
  /** Give up after this long (default 1 h). */
  readonly timeoutMs?: number;
  /** Longest wait between polls whatever Retry-After says (default 60 s). */
  readonly maxPollMs?: number;
  readonly fetch?: typeof fetch;
}

export class BulkExportError extends Error {
  override readonly name = 'BulkExportError';
}

/** Retry-After → ms: delta-seconds or an HTTP date (RFC 9110 § 10.2.3); default 1 s. */
export function retryAfterMs(value: string | null, now = Date.now()): number {
  if (!value) return 1000;
  if (/^\d+$/.test(value.trim())) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? 1000 : Math.max(0, at - now);
}

export function bulkExportReader(opts: BulkExportOptions): EcgReader {
  const base = opts.baseUrl.replace(/\/+$/, '');
  const get = opts.fetch ?? fetch;
  const auth: Record<string, string> = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  return {
    kind: 'bulk-export',
    async *read(range) {
      const q = new URLSearchParams({
        _type: 'Observation',
        _typeFilter: `Observation?code=${encodeURIComponent(ECG_OBSERVATION_CODES)}`,
        _elements: 'code',
        ...(range.since ? { _since: range.since } : {}),
      });
      const kick = await get(`${base}/$export?${q}`, {
        headers: { accept: 'application/fhir+json', prefer: 'respond-async', ...auth },
      });
      const status = kick.headers.get('content-location');
      if (kick.status !== 202 || !status)
        throw new BulkExportError(`$export kick-off: HTTP ${kick.status} ${await kick.text()}`);
      const manifest = await poll(status);
      const refs: EcgRef[] = [];
      for (const out of manifest.output ?? []) {
        if (out.type !== 'Observation') continue;
        const file = await get(out.url, {
          headers: { accept: 'application/fhir+ndjson', ...(manifest.requiresAccessToken ? auth : {}) },
        });
        if (!file.ok) throw new BulkExportError(`$export file ${out.url}: HTTP ${file.status}`);
        for (const line of (await file.text()).split('\n')) {
          if (!line.trim()) continue;
          const obs = JSON.parse(line) as fhir4.Observation;
          const ref = isEcg(obs) ? refOf(obs) : undefined;
          if (ref && (!range.until || ref.lastUpdated < range.until)) refs.push(ref);
        }
      }
      await get(status, { method: 'DELETE', headers: auth }).catch(() => undefined);
      // Files are unordered; the checkpoint needs lastUpdated order.
      refs.sort((a, b) => Date.parse(a.lastUpdated) - Date.parse(b.lastUpdated));
      yield* refs;
    },
  };

  async function poll(
    url: string,
  ): Promise<{ output?: { type: string; url: string }[]; requiresAccessToken?: boolean }> {
    const deadline = Date.now() + (opts.timeoutMs ?? 3_600_000);
    for (;;) {
      const res = await get(url, { headers: { accept: 'application/json', ...auth } });
      if (res.status === 200) return (await res.json()) as Awaited<ReturnType<typeof poll>>;
      if (res.status !== 202 && res.status !== 429)
        throw new BulkExportError(`$export status: HTTP ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      const wait = Math.min(opts.maxPollMs ?? 60_000, retryAfterMs(res.headers.get('retry-after')));
      if (Date.now() + wait > deadline) throw new BulkExportError('$export did not finish in time');
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}
