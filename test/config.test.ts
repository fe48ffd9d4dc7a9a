import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, redactedConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('without FHIR_BASE_URL runs demo mode: embedded server at /fhir, dev issuer trusted', () => {
    const c = loadConfig({ PORT: '9090' });
    assert.equal(c.demo, true);
    assert.equal(c.fhir.baseUrl, 'http://localhost:9090/fhir');
    assert.equal(c.auth.trustDevIssuer, true);
  });

  it('with FHIR_BASE_URL the dev issuer is not trusted unless asked', () => {
    const c = loadConfig({ FHIR_BASE_URL: 'https://fhir.example.org/r4/', FHIR_TOKEN: 'secret-token' });
    assert.equal(c.demo, false);
    assert.equal(c.fhir.baseUrl, 'https://fhir.example.org/r4');
    assert.equal(c.auth.trustDevIssuer, false);
    assert.ok(!JSON.stringify(redactedConfig(c)).includes('secret-token'));
  });

  it('parses issuer and policy JSON, and names every bad value', () => {
    const c = loadConfig({
      CDS_TRUSTED_ISSUERS: '[{"iss":"https://ehr.example.org","jwksUrl":"https://ehr.example.org/jwks"}]',
      CARD_POLICY: '{"sinus-rhythm":"info"}',
    });
    assert.equal(c.auth.issuers[0]?.iss, 'https://ehr.example.org');
    assert.equal(c.hook.policy['sinus-rhythm'], 'info');
    assert.throws(
      () => loadConfig({ PORT: 'eighty', CARD_POLICY: '{not json', CDS_TRUSTED_ISSUERS: '[{"iss":""}]' }),
      (err: Error) =>
        err instanceof ConfigError &&
        /PORT/.test(err.message) &&
        /CARD_POLICY must be JSON/.test(err.message) &&
        /CDS_TRUSTED_ISSUERS/.test(err.message),
    );
  });
});
