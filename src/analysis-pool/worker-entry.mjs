// The worker's entry: loads worker.ts through tsx's API inside the thread. Node 20 does not apply the
// parent's `--import tsx` loader hooks to a worker's imports, so `node --import tsx` alone cannot start
// a .ts worker; this file is plain JavaScript so the worker can start without them.
import { tsImport } from 'tsx/esm/api';

const mod = await tsImport('./worker.ts', import.meta.url);
export default mod.default;
