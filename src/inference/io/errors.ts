/** A record file could not be read or does not mean what it says. Always names the file. */
export class RecordReadError extends Error {
  override readonly name = 'RecordReadError';
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
  }
}
