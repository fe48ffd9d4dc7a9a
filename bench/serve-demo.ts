/**
 * Child process for the latency benchmarks: the composed service in demo mode (test/support/service.ts),
 * so the load generator does not share the service's event loop. Prints one JSON line with what the
 * benchmark needs, then serves until SIGTERM.
 */
import { startService } from '../test/support/service.js';

const s = await startService({ DEV_KEY_PATH: process.env['BENCH_DEV_KEY'] ?? '.ecg-cds/bench-dev-key.json' });
process.stdout.write(
  `${JSON.stringify({
    base: s.base,
    fhir: s.c.config.fhir.baseUrl,
    keyPath: s.c.config.auth.devKeyPath,
    patients: s.seeded.map((x) => ({ id: x.patient.id, record: x.patient.record })),
  })}\n`,
);
process.on('SIGTERM', () => {
  void s.stop().then(() => process.exit(0));
});
