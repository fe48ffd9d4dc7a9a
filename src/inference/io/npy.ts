/**
 * NumPy `.npy` files, format version 1.0, for typed arrays: the hand-off from the TypeScript pipeline to
 * the Python training scripts. Layout from the NumPy format specification
 * (https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html): magic "\x93NUMPY", version
 * bytes 1, 0, a little-endian uint16 header length, then an ASCII Python dict literal padded with spaces
 * and ended by "\n" so that the data start at a multiple of 64 bytes; C order, little-endian data.
 */

export type NpyArray = Float32Array | Float64Array | Int8Array | Uint8Array | Int16Array | Int32Array;

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
const ALIGN = 64;

function descrOf(a: NpyArray): string {
  if (a instanceof Float32Array) return '<f4';
  if (a instanceof Float64Array) return '<f8';
  if (a instanceof Int8Array) return '|i1';
  if (a instanceof Uint8Array) return '|u1';
  if (a instanceof Int16Array) return '<i2';
  return '<i4';
}

/** Python tuple literal for a shape: (n,) for one dimension. */
function shapeLiteral(shape: readonly number[]): string {
  return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
}

/** Encode `data` with the given C-order `shape` as a .npy v1.0 file. */
export function encodeNpy(data: NpyArray, shape: readonly number[]): Buffer {
  const count = shape.reduce((p, d) => p * d, 1);
  if (shape.some((d) => !Number.isInteger(d) || d < 0) || count !== data.length) {
    throw new RangeError(`encodeNpy: shape ${shapeLiteral(shape)} does not hold ${data.length} elements`);
  }
  const dict = `{'descr': '${descrOf(data)}', 'fortran_order': False, 'shape': ${shapeLiteral(shape)}, }`;
  const unpadded = MAGIC.length + 2 + 2 + dict.length + 1;
  const headerLen = dict.length + 1 + ((ALIGN - (unpadded % ALIGN)) % ALIGN);
  if (headerLen > 0xffff) throw new RangeError('encodeNpy: header too long for format 1.0');
  const pre = Buffer.alloc(MAGIC.length + 4);
  MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(headerLen, 8);
  const header = Buffer.from(`${dict.padEnd(headerLen - 1, ' ')}\n`, 'latin1');
  // Typed arrays are little-endian on every platform Node supports (x64, arm64).
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([pre, header, body]);
}

export interface DecodedNpy {
  readonly data: NpyArray;
  readonly shape: number[];
}

/** Decode a .npy v1.0/2.0 file written in C order with one of the dtypes {@link encodeNpy} writes. */
export function decodeNpy(buf: Uint8Array): DecodedNpy {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 10 || !b.subarray(0, 6).equals(MAGIC)) throw new Error('decodeNpy: not a .npy file');
  const major = b[6]!;
  const headerLen = major === 1 ? b.readUInt16LE(8) : b.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = b.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || fortran !== 'False' || shapeText === undefined) {
    throw new Error(`decodeNpy: unsupported header ${header.trim()}`);
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(Number);
  const count = shape.reduce((p, d) => p * d, 1);
  const body = b.subarray(start + headerLen);
  const copy = new Uint8Array(body).buffer; // aligned copy for the typed-array view
  const ctor = {
    '<f4': Float32Array,
    '<f8': Float64Array,
    '|i1': Int8Array,
    '|u1': Uint8Array,
    '<i2': Int16Array,
    '<i4': Int32Array,
  }[descr];
  if (!ctor) throw new Error(`decodeNpy: unsupported dtype ${descr}`);
  const data = new ctor(copy, 0, count);
  return { data, shape };
}
