// The .npy files are the hand-off of the beat dataset to training; this checks the writer against the format.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeNpy, encodeNpy } from '../../../src/inference/io/npy.js';

describe('npy', () => {
  it('writes a v1.0 header whose data start on a 64-byte boundary', () => {
    const buf = encodeNpy(Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    assert.deepEqual([...buf.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
    const headerLen = buf.readUInt16LE(8);
    assert.equal((10 + headerLen) % 64, 0);
    const header = buf.subarray(10, 10 + headerLen).toString('latin1');
    assert.match(header, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/);
    assert.equal(buf.length, 10 + headerLen + 24);
  });

  it('round-trips each dtype, with one-dimensional shapes written as (n,)', () => {
    const arrays = [Float32Array.from([0.5, -1]), Int8Array.from([0, 4, -1]), Int32Array.from([7, -70000])];
    for (const a of arrays) {
      const buf = encodeNpy(a, [a.length]);
      assert.match(buf.toString('latin1', 10, 80), new RegExp(`'shape': \\(${a.length},\\)`));
      const back = decodeNpy(buf);
      assert.deepEqual(back.shape, [a.length]);
      assert.deepEqual(Array.from(back.data), Array.from(a));
      assert.equal(back.data.constructor, a.constructor);
    }
  });

  it('writes empty arrays and refuses a shape that does not fit the data', () => {
    assert.deepEqual(decodeNpy(encodeNpy(new Float32Array(0), [0, 256])).shape, [0, 256]);
    assert.throws(() => encodeNpy(new Float32Array(5), [2, 3]), RangeError);
  });
});
