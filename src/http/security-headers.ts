import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet, { strictTransportSecurity } from 'helmet';

/** One year, the value HSTS preload lists ask for. */
const HSTS_MAX_AGE_SECONDS = 365 * 24 * 60 * 60;

/**
 * Security headers on every response, set by helmet: `X-Content-Type-Options: nosniff`, a
 * Content-Security-Policy that lets a JSON response load and frame nothing, `X-Frame-Options`,
 * `Referrer-Policy: no-referrer`, the cross-origin policies, and more. Plus:
 *
 * - `Cache-Control: no-store` on everything: responses carry balances, customers and, once,
 *   API keys, and no cache or browser should keep them;
 * - `Strict-Transport-Security` only on a request that came over TLS (directly, or through a
 *   proxy TRUST_PROXY believes about X-Forwarded-Proto): over plain HTTP the header means nothing
 *   and would only mislead.
 */
export function securityHeaders(): RequestHandler[] {
  const hsts = strictTransportSecurity({ maxAge: HSTS_MAX_AGE_SECONDS, includeSubDomains: true });
  return [
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
      strictTransportSecurity: false,
    }),
    (req: Request, res: Response, next: NextFunction) => {
      res.set('Cache-Control', 'no-store');
      if (req.secure) hsts(req, res, next);
      else next();
    },
  ];
}
