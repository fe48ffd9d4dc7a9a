/**
 * MATLAB level-4 MAT-file reader, for the PhysioNet/CinC 2017 recordings (one int16 matrix `val`).
 *
 * Layout from MathWorks' "MAT-File Format" (Level 4 section): a 20-byte header of five int32
 * (type MOPT, rows, cols, imagf, namlen), the NUL-terminated name, then column-major data.
 * Written here because the only npm MAT readers target level 5; level 4 is 30 lines.
 */
import { RecordReadError } from './errors.js';

export interface Mat4Matrix {
  readonly name: string;
  readonly rows: number;
  readonly cols: number;
  /** Column-major values. */
  readonly data: Float64Array;
  /** Byte offset of the data within the file (24 for the CinC 2017 files). */
  readonly dataOffset: number;
}

const BYTES_BY_PRECISION: Record<number, number> = { 0: 8, 1: 4, 2: 4, 3: 2, 4: 2, 5: 1 };

/** Read the first matrix of a level-4 MAT file. */
export function parseMat4(buf: Uint8Array, file: string): Mat4Matrix {
  if (buf.length < 20) throw new RecordReadError(file, 'too short for a MAT v4 header');
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const type = v.getInt32(0, true);
  if (type < 0 || type > 9999) throw new RecordReadError(file, 'not a little-endian MAT v4 file');
  const m = Math.floor(type / 1000);
  const o = Math.floor(type / 100) % 10;
  const precision = Math.floor(type / 10) % 10;
  const t = type % 10;
  if (m !== 0 || o !== 0 || t !== 0) throw new RecordReadError(file, `unsupported MAT v4 type ${type}`);
  const rows = v.getInt32(4, true);
  const cols = v.getInt32(8, true);
  const imagf = v.getInt32(12, true);
  const namlen = v.getInt32(16, true);
  if (namlen < 1 || 20 + namlen > buf.length) {
    throw new RecordReadError(
      file,
      `truncated or corrupt: name length ${namlen}, file has ${buf.length} bytes`,
    );
  }
  if (imagf !== 0) throw new RecordReadError(file, 'complex matrices are not supported');
  const size = BYTES_BY_PRECISION[precision];
  if (size === undefined) throw new RecordReadError(file, `unknown MAT v4 precision ${precision}`);
  const dataOffset = 20 + namlen;
  const count = rows * cols;
  if (rows < 0 || cols < 0 || dataOffset + count * size > buf.length) {
    throw new RecordReadError(
      file,
      `truncated: ${rows}x${cols} matrix needs ${dataOffset + count * size} bytes, file has ${buf.length}`,
    );
  }
  const name = Buffer.from(buf.buffer, buf.byteOffset + 20, Math.max(0, namlen - 1)).toString('latin1');
  const data = new Float64Array(count);
  for (let k = 0; k < count; k++) {
    const at = dataOffset + k * size;
    switch (precision) {
      case 0:
        data[k] = v.getFloat64(at, true);
        break;
      case 1:
        data[k] = v.getFloat32(at, true);
        break;
      case 2:
        data[k] = v.getInt32(at, true);
        break;
      case 3:
        data[k] = v.getInt16(at, true);
        break;
      case 4:
        data[k] = v.getUint16(at, true);
        break;
      default:
        data[k] = v.getUint8(at);
    }
  }
  return { name, rows, cols, data, dataOffset };
}
