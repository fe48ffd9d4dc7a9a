/**
 * One table from errors raised below an HTTP edge to what the caller may see (STYLE habit 7). Client
 * faults found by express and body-parser (bad JSON, too large, bad encoding, undecodable path) keep
 * their 4xx status with a fixed message; everything else is our fault: 500 with a correlation id that
 * the log line carries too. Never the error's own message (it may quote the input), never a stack.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';

export interface ClientFault {
  readonly status: number;
  readonly message: string;
}

/** body-parser's `type` codes (https://github.com/expressjs/body-parser#errors) → what we say. */
const BODY_ERRORS: Readonly<Record<string, ClientFault>> = {
  'entity.parse.failed': { status: 400, message: 'request body is not valid JSON' },
  'entity.too.large': { status: 413, message: 'request body too large' },
  'parameters.too.many': { status: 413, message: 'too many parameters' },
  'encoding.unsupported': { status: 415, message: 'unsupported content encoding' },
  'charset.unsupported': { status: 415, message: 'unsupported charset' },
  'request.aborted': { status: 400, message: 'request aborted' },
  'request.size.invalid': { status: 400, message: 'request size did not match Content-Length' },
};

/** The client fault an error stands for, or undefined when it is ours (→ 500). */
export function clientFault(err: unknown): ClientFault | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown; expose?: unknown };
  if (typeof e.type === 'string' && e.type in BODY_ERRORS) return BODY_ERRORS[e.type];
  const status = typeof e.status === 'number' ? e.status : e.statusCode;
  // http-errors marks client errors `expose: true`; express's router turns an undecodable path into a
  // URIError with status 400. A 4xx from our own downstream call (e.g. a FHIR 400 on write-back) carries
  // neither and is our fault.
  const exposed = e.expose === true || (err instanceof URIError && status === 400);
  if (typeof status === 'number' && status >= 400 && status < 500 && exposed)
    return { status, message: (STATUS_CODES[status] ?? 'bad request').toLowerCase() };
  return undefined;
}

/** A fresh id to join a 500 response with its log line. */
export function correlationId(): string {
  return randomUUID();
}

/** Name and message only, for the log (no stack: it carries file paths, and the log may be shipped). */
export function errSummary(err: unknown): { name: string; message: string } {
  if (err instanceof Error) return { name: err.name, message: err.message.slice(0, 500) };
  return { name: typeof err, message: '' };
}
