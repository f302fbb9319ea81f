import { isGrpcServiceError } from '@temporalio/client';
import { ApiError } from './errors';

/** What a client is told to wait before retrying when a dependency is down: about one supervised restart. */
export const DEPENDENCY_RETRY_AFTER_SECONDS = 5;

export type Dependency = 'postgres' | 'temporal';

/** Node socket errors meaning the other end is not there (or went away mid-request). */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** gRPC UNAVAILABLE and DEADLINE_EXCEEDED: the Temporal server cannot be reached or did not answer in time. */
const GRPC_UNREACHABLE = new Set([14, 4]);

type ErrorLike = { name?: string; code?: unknown; message?: string; cause?: unknown; errors?: unknown };

/**
 * Which dependency an error says is unreachable, if any: a Postgres that refuses or drops
 * connections (SQLSTATE class 08, admin shutdown 57P01-57P03, no connection from the pool in time)
 * or a Temporal server gRPC cannot reach. Anything else is not a dependency outage.
 */
export function unreachableDependency(err: unknown, depth = 0): Dependency | undefined {
  if (!err || typeof err !== 'object' || depth > 5) return undefined;
  const e = err as ErrorLike;
  if (isGrpcServiceError(err)) return GRPC_UNREACHABLE.has(err.code) ? 'temporal' : undefined;
  if (e.name === 'ConnectionError' && /temporal|grpc|connect/i.test(e.message ?? '')) return 'temporal';
  if (e.name === 'KnexTimeoutError') return 'postgres';
  if (typeof e.code === 'string') {
    if (/^08[0-9A-Z]{3}$/.test(e.code) || ['57P01', '57P02', '57P03'].includes(e.code)) return 'postgres';
    if (SOCKET_CODES.has(e.code)) return isTemporalError(e) ? 'temporal' : 'postgres';
  }
  if (/^Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(e.message ?? '')) return 'postgres';
  // AggregateError (a connection attempt to several addresses) and wrapped causes
  if (Array.isArray(e.errors)) for (const inner of e.errors) {
    const found = unreachableDependency(inner, depth + 1);
    if (found) return found;
  }
  return unreachableDependency(e.cause, depth + 1);
}

function isTemporalError(e: ErrorLike): boolean {
  return /temporal|grpc/i.test(`${e.name ?? ''} ${e.message ?? ''}`);
}

/** 503 with Retry-After: not the client's fault, and a retry with the same Idempotency-Key is safe. */
export function dependencyUnavailable(dependency: Dependency): ApiError {
  const what = dependency === 'postgres' ? 'The database' : 'The workflow engine';
  return ApiError.unavailable(
    `${what} is unavailable right now; nothing was lost. Retry in ${DEPENDENCY_RETRY_AFTER_SECONDS} s with the same Idempotency-Key.`,
    DEPENDENCY_RETRY_AFTER_SECONDS,
  );
}
