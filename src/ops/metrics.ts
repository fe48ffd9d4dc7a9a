/**
 * Prometheus metrics (prom-client) on a registry per app instance, so tests and several apps in one
 * process never share counters.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly hookLatency: Histogram<'service' | 'status'>;
  readonly analyses: Counter<'result' | 'trigger'>;
  readonly feedback: Counter<'outcome' | 'reason'>;
  /**
   * Rejected CDS client JWTs, without a reason label (issue #11): the reason would tell an attacker
   * which check each forged token failed. The reason is logged at debug level instead.
   */
  readonly authFailures: Counter;
  readonly provider: Gauge<'provider'>;
  readonly notifications: Counter<'style' | 'result'>;
}

export function createMetrics(opts: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry });
  return {
    registry,
    hookLatency: new Histogram({
      name: 'ecg_cds_hook_duration_seconds',
      help: 'CDS Hooks service call latency',
      labelNames: ['service', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    analyses: new Counter({
      name: 'ecg_cds_analyses_total',
      help: 'ECG analyses by result (finding code, "normal" or "unable") and trigger',
      labelNames: ['result', 'trigger'],
      registers: [registry],
    }),
    feedback: new Counter({
      name: 'ecg_cds_feedback_total',
      help: 'CDS card feedback by outcome and override reason (our own codes, "none" or "other")',
      labelNames: ['outcome', 'reason'],
      registers: [registry],
    }),
    authFailures: new Counter({
      name: 'ecg_cds_auth_failures_total',
      help: 'Rejected CDS client JWTs (reasons are in the debug log, not here)',
      registers: [registry],
    }),
    provider: new Gauge({
      name: 'ecg_cds_execution_provider',
      help: 'ONNX Runtime execution provider in use (1 = active)',
      labelNames: ['provider'],
      registers: [registry],
    }),
    notifications: new Counter({
      name: 'ecg_cds_notifications_total',
      help: 'FHIR Subscription notifications by delivery style and result',
      labelNames: ['style', 'result'],
      registers: [registry],
    }),
  };
}
