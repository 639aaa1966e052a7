/**
 * The error of green `fetch` (fetch.ts): one class for a request that got
 * no response, or whose body broke off, so green code catches it as it
 * would urllib's `URLError`. HTTP error statuses are responses, not errors,
 * as with the global fetch.
 */
import { GreenloopError } from '../loop/errors.js';
import { registerErrorClass } from './runtime/index.js';

/** What a FetchError keeps of the failure. */
export interface FetchErrorDetails {
  /** The request's method and URL. */
  readonly method: string;
  readonly url: string;
  /** The underlying error (Node's network error: ECONNREFUSED, ENOTFOUND, a TLS error...). */
  readonly cause?: unknown;
}

/**
 * A fetch failed: no response (the connection was refused, the name did
 * not resolve, TLS failed, too many redirects...) or its body broke off.
 * `code` is the cause's (`'ECONNREFUSED'`, `'ENOTFOUND'`,
 * `'UND_ERR_SOCKET'`...) when it has one; `cause` is the error itself.
 */
export class FetchError extends GreenloopError {
  readonly method: string;
  readonly url: string;
  readonly code: string | undefined;

  constructor(message: string, details: FetchErrorDetails) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'FetchError';
    this.method = details.method;
    this.url = details.url;
    this.code = codeOf(details.cause);
  }
}

/** The `code` of an error or of its first cause or inner error that has one. */
function codeOf(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined;
  const { code, cause, errors } = error as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string') return code;
  const inner = codeOf(cause, depth + 1);
  if (inner !== undefined || !Array.isArray(errors)) return inner;
  return codeOf(errors[0], depth + 1);
}

registerErrorClass(FetchError);
