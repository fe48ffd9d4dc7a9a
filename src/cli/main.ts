/**
 * `ecg-cds` command line: thin commands over the parts of the service.
 * Usage: ecg-cds <command> [subcommand] [options]; `ecg-cds help` lists them.
 */
import { parseArgs } from 'node:util';
import { runEvalQrs } from './eval-qrs.js';

const USAGE = `usage: ecg-cds <command> [options]

commands:
  eval qrs --db <wfdb-dir> [--records all|100,101,...] [--json] [--out <dir>]
      score the QRS detector against reference beat annotations (EC57-style)
  help
      this text
`;

/** Error the user can fix by changing the command line: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

async function main(argv: string[]): Promise<number> {
  const [command, sub, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(USAGE);
    return 0;
  }
  if (command === 'eval' && sub === 'qrs') {
    const { values } = parseArgs({
      args: rest,
      options: {
        db: { type: 'string' },
        records: { type: 'string', default: 'all' },
        json: { type: 'boolean', default: false },
        out: { type: 'string' },
      },
      strict: true,
    });
    if (!values.db) throw new UsageError('eval qrs: --db <wfdb-dir> is required');
    return runEvalQrs({ db: values.db, records: values.records, json: values.json, out: values.out });
  }
  throw new UsageError(`unknown command: ${[command, sub].filter(Boolean).join(' ')}\n\n${USAGE}`);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err as Error;
    const known =
      e instanceof UsageError ||
      e.name === 'RecordReadError' ||
      (e as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION';
    process.stderr.write(`ecg-cds: ${known ? e.message : (e.stack ?? String(e))}\n`);
    process.exitCode = known ? 2 : 1;
  },
);
