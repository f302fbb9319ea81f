/**
 * Request bodies: JSON only, each within its limit. A route may allow a larger body to one role
 * (an admin's watch-list import); every other request is held to the default limit. A request
 * whose Content-Length is over its limit is answered 413 at once, before its body arrives, and its
 * connection is closed rather than drained: a slow client sending megabytes waits for nothing.
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { ApiError, HttpErrorCode } from './errors';

/** A larger limit for one route (matched by its path under the router) and one role. */
export type BodyAllowance = { path: string; role: string; maxBytes: number };

/** Requests that carry a body must say it is JSON. */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction) {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) throw ApiError.of(HttpErrorCode.UnsupportedMediaType, 'Send the body as application/json.');
  next();
}

/**
 * Parses JSON bodies within the limit that applies to the request: an allowance of its route for
 * its key's role, or `defaultMaxBytes`. Runs after authentication (the role is known).
 */
export function jsonBodies(opts: { defaultMaxBytes: number; allowances: BodyAllowance[]; roleOf: (req: Request) => string | undefined }): RequestHandler {
  const parsers = new Map<number, RequestHandler>();
  const parser = (maxBytes: number) => {
    let found = parsers.get(maxBytes);
    if (!found) parsers.set(maxBytes, (found = express.json({ limit: maxBytes, strict: true })));
    return found;
  };
  return (req, res, next) => {
    const allowance = opts.allowances.find((a) => a.path === req.path && a.role === opts.roleOf(req));
    const maxBytes = allowance?.maxBytes ?? opts.defaultMaxBytes;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      // Answered now; the body is never read, so the connection cannot be reused.
      res.set('Connection', 'close');
      throw ApiError.of(HttpErrorCode.BodyTooLarge, 'The request body is too large.');
    }
    parser(maxBytes)(req, res, next);
  };
}

/** body-parser's failures, mapped to the envelope's codes. */
export function bodyParserError(err: { type?: string; status?: number }): ApiError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return ApiError.of(HttpErrorCode.MalformedJson, 'The request body is not valid JSON.');
    case 'entity.too.large':
      return ApiError.of(HttpErrorCode.BodyTooLarge, 'The request body is too large.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return ApiError.of(HttpErrorCode.UnsupportedMediaType, 'Unsupported body encoding.');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return ApiError.of(HttpErrorCode.MalformedJson, 'The request body could not be read.');
    default:
      // Any other 4xx from reading the body, e.g. one that does not decompress as its Content-Encoding says.
      return err.status !== undefined && err.status >= 400 && err.status < 500 ? ApiError.of(HttpErrorCode.MalformedJson, 'The request body could not be read.') : undefined;
  }
}
