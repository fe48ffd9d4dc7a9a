/**
 * The messages between the service and its analysis workers (structured-clone safe: plain data only).
 * A DecodeError cannot cross a thread as its class, so the worker sends its fields and the pool rebuilds it.
 */
import type { CodecLimits } from '../fhir/ecg-codec.js';
import type { DecodeErrorCode } from '../fhir/ecg-codec-errors.js';
import type { StoredResult } from '../fhir/stored-result.js';
import type { ExecutionProvider } from '../inference/model/session.js';
import type { EcgView } from '../render/types.js';

/** What each worker is started with (`workerData`). */
export interface WorkerSetup {
  readonly modelsDir: string;
  readonly provider: ExecutionProvider;
}

export type PoolTask =
  /** The loaded model set: its version, provider and any provider fallback warning. */
  | { readonly kind: 'info' }
  /**
   * Decode → analyse → summarise ECG Observations (stored results; a bad ECG is an 'unable' result, not
   * an error). Several are analysed together (their model calls batched across ECGs); one reply per
   * item, in order: its stored result, or the error that item alone hit.
   */
  | {
      readonly kind: 'results';
      readonly items: readonly fhir4.Observation[];
      readonly modelVersion: string;
      readonly limits?: Partial<CodecLimits>;
    }
  /** Decode → analyse → the viewer's EcgView. */
  | { readonly kind: 'view'; readonly obs: fhir4.Observation };

export interface EngineInfo {
  readonly version: string;
  readonly provider: string;
  readonly warnings: readonly string[];
}

export interface DecodeErrorFields {
  readonly code: DecodeErrorCode;
  readonly message: string;
  readonly path?: string;
}

export type ViewReply = { readonly view: EcgView } | { readonly decodeError: DecodeErrorFields };

export type ItemReply = { readonly result: StoredResult } | { readonly error: string };

export interface PoolReplies {
  info: EngineInfo;
  results: ItemReply[];
  view: ViewReply;
}
