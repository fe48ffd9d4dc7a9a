/**
 * Child process for the back-analysis benchmark: the embedded FHIR server (composed service, demo mode
 * without demo data or Subscriptions), in its own process as a hospital server would be. Prints one JSON
 * line with its FHIR base URL, then serves until SIGTERM.
 */
import { startService } from '../test/support/service.js';

const s = await startService({ DEMO_DATA: 'false', SUBSCRIPTIONS_ENSURE: 'false', NIGHTLY_ENABLED: 'false' });
process.stdout.write(`${JSON.stringify({ fhir: s.c.config.fhir.baseUrl })}\n`);
process.on('SIGTERM', () => {
  void s.stop().then(() => process.exit(0));
});
