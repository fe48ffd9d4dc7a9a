/** FHIR_SERVER_ALLOWLIST and FHIR_MAX_RESPONSE_BYTES (config), and origin matching (issue #11 item 4). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { httpOrigin, OriginAllowList } from '../../src/cds-hooks/allowlist.js';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('FHIR_SERVER_ALLOWLIST', () => {
  it('defaults to the embedded server in demo mode and to FHIR_BASE_URL in production', () => {
    const demo = loadConfig({ PORT: '8080', PUBLIC_BASE_URL: 'https://cds.example.org/base/' });
    assert.deepEqual(demo.fhir.serverAllowlist, ['https://cds.example.org']);
    assert.equal(demo.fhir.maxResponseBytes, 32 * 1024 * 1024);
    const prod = loadConfig({ FHIR_BASE_URL: 'https://FHIR.Hospital.example:443/r4/' });
    assert.deepEqual(prod.fhir.serverAllowlist, ['https://fhir.hospital.example']);
  });

  it('takes a JSON array or a comma list of origins, normalised', () => {
    const env = { FHIR_BASE_URL: 'https://fhir.hospital.example/r4', FHIR_MAX_RESPONSE_BYTES: '1048576' };
    const json = loadConfig({
      ...env,
      FHIR_SERVER_ALLOWLIST: '["https://ehr.example.org", "http://10.0.0.5:8080/"]',
    });
    assert.deepEqual(json.fhir.serverAllowlist, ['https://ehr.example.org', 'http://10.0.0.5:8080']);
    assert.equal(json.fhir.maxResponseBytes, 1048576);
    const csv = loadConfig({
      ...env,
      FHIR_SERVER_ALLOWLIST: ' https://EHR.example.org:443 , https://b.example ',
    });
    assert.deepEqual(csv.fhir.serverAllowlist, ['https://ehr.example.org', 'https://b.example']);
  });

  it('refuses anything that is not an http(s) origin, naming the variable', () => {
    for (const bad of [
      'https://ehr.example.org/fhir', // a path would look like a restriction and is none
      'ftp://ehr.example.org',
      'https://user:pw@ehr.example.org',
      'ehr.example.org',
      '["https://a.example", 42]',
      '[not json',
    ]) {
      assert.throws(
        () => loadConfig({ FHIR_SERVER_ALLOWLIST: bad }),
        (e: unknown) => e instanceof ConfigError && /FHIR_SERVER_ALLOWLIST/.test(e.message),
        bad,
      );
    }
    assert.throws(() => loadConfig({ FHIR_MAX_RESPONSE_BYTES: '0' }), /FHIR_MAX_RESPONSE_BYTES/);
  });
});

describe('OriginAllowList', () => {
  const list = new OriginAllowList(['https://ehr.example.org', 'http://127.0.0.1:8080']);
  it('allows URLs on listed origins only, exactly (scheme, host, port)', () => {
    assert.ok(list.allows('https://ehr.example.org/fhir'));
    assert.ok(list.allows('HTTPS://EHR.example.org:443/fhir/'));
    assert.ok(list.allows('http://127.0.0.1:8080/fhir'));
    for (const url of [
      'http://ehr.example.org/fhir',
      'https://ehr.example.org:8443/fhir',
      'https://ehr.example.org.evil.example/fhir',
      'https://evil.example/ehr.example.org',
      'https://ehr.example.org@evil.example/fhir',
      'https://user:pw@ehr.example.org/fhir',
      'http://127.0.0.1:8081/fhir',
      'http://localhost:8080/fhir',
      'javascript:alert(1)',
      'not a url',
      '',
      undefined,
      42,
    ])
      assert.equal(list.allows(url), false, String(url));
  });
  it('httpOrigin reads only http(s) URLs without credentials', () => {
    assert.equal(httpOrigin('https://a.example/x?y'), 'https://a.example');
    assert.equal(httpOrigin('data:text/plain,x'), undefined);
    assert.equal(httpOrigin('https://u@a.example/'), undefined);
  });
});
