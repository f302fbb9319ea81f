import type { NextFunction, Request, Response } from 'express';
import { httpRequestDuration } from './metrics';

/** The route label of a request no route handled: 404s, and requests refused before routing (401, 429, 413). */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * Times every request into payments_http_request_duration_seconds, labelled by the route pattern
 * that handled it (`/v1/transfers/:id`), never by its URL (ids would make the label unbounded).
 * The pattern is taken when the router matches the route (it sets `req.route`): the router's base
 * is right then, but not any more once an error has left the router for the error handler.
 */
export function httpMetrics() {
  return (req: Request, res: Response, next: NextFunction) => {
    const end = httpRequestDuration.startTimer();
    let route: Request['route'];
    let pattern: string | undefined;
    Object.defineProperty(req, 'route', {
      configurable: true,
      enumerable: true,
      get: () => route,
      set: (value: Request['route']) => {
        route = value;
        pattern = value ? `${req.baseUrl}${String((value as { path?: unknown }).path ?? '')}` : undefined;
      },
    });
    let done = false;
    const record = () => {
      if (done) return;
      done = true;
      end({ method: req.method, route: pattern ?? UNMATCHED_ROUTE, status: String(res.statusCode) });
    };
    res.once('finish', record);
    res.once('close', record);
    next();
  };
}
