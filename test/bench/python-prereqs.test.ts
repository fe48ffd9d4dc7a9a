/**
 * The bench's PyTorch prerequisites (issue #14 item 6): a missing module is named with its Debian package
 * and the apt-get line; a missing interpreter likewise; a present one passes. Runs the real python.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { missingPythonPrereqs, SYSTEM_PYTHON } from '../../bench/python-prereqs.js';

describe('bench python prerequisites', () => {
  it('names a missing interpreter and the apt-get line', () => {
    const lines = missingPythonPrereqs('/nonexistent/python3');
    assert.ok(lines);
    assert.match(lines.join('\n'), /not usable \(ENOENT\)/);
    assert.match(lines.join('\n'), /apt-get install -y python3 python3-numpy python3-torch/);
  });

  it('names a missing module with its Debian package', {
    skip: !existsSync(SYSTEM_PYTHON) && 'no /usr/bin/python3',
  }, () => {
    const lines = missingPythonPrereqs(SYSTEM_PYTHON, [
      { module: 'json', debian: 'python3' },
      { module: 'ecg_cds_no_such_module', debian: 'python3-ecg-cds-none' },
    ]);
    assert.ok(lines);
    assert.match(lines[0]!, /lacks ecg_cds_no_such_module \(Debian package python3-ecg-cds-none\)/);
    assert.doesNotMatch(lines[0]!, /json/);
    assert.equal(lines[1], '  install: sudo apt-get install -y python3-ecg-cds-none');
    assert.equal(missingPythonPrereqs(SYSTEM_PYTHON, [{ module: 'json', debian: 'python3' }]), undefined);
  });
});
