import type { NextFunction, Request, Response } from 'express';
import { bodyParserError } from './body';
import { ApiError, errorEnvelope, HttpErrorCode } from './errors';
import { dependencyUnavailable, unreachableDependency } from './unavailable';

/**
 * The one place an error becomes an answer, in the one envelope: an ApiError as it is; what
 * `translate` makes an ApiError (the domains' refusals, src/api/refusals.ts); a body that could
 * not be read; a dependency that cannot be reached (503, retry later); anything else is a bug (500).
 */
export function errorHandler(translate: (err: unknown) => ApiError | undefined) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiError = err instanceof ApiError ? err : answerFor(err, req);
    if (apiError.retryAfterSeconds !== undefined) res.set('Retry-After', String(apiError.retryAfterSeconds));
    res.status(apiError.status).json(errorEnvelope(apiError, req.requestId ?? 'unknown'));
  };

  function answerFor(err: unknown, req: Request): ApiError {
    // The router could not percent-decode a path parameter: no resource has that path.
    if (err instanceof URIError) return ApiError.of(HttpErrorCode.NotFound, 'No resource at this path.');
    const translated = translate(err);
    if (translated) {
      if (translated.status >= 500) req.log?.error({ err }, 'a refusal no request should meet');
      return translated;
    }
    const unreadable = bodyParserError(err as { type?: string; status?: number });
    if (unreadable) return unreadable;
    const down = unreachableDependency(err);
    if (down) {
      req.log?.warn({ err, down }, 'a dependency is unreachable');
      return dependencyUnavailable(down);
    }
    req.log?.error({ err }, 'unhandled error');
    return ApiError.of(HttpErrorCode.InternalError, 'Something went wrong on our side.');
  }
}
