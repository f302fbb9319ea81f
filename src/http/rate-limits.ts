import type { NextFunction, Request, Response } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo } from 'express-rate-limit';
import type { Logger } from 'pino';
import type { RateLimits } from '../config';
import { ApiError, HttpErrorCode } from './errors';

/**
 * The /v1 rate limits, counted by express-rate-limit in fixed windows of `windowSeconds`:
 *
 * - per client address, every request, with or without a key;
 * - per client address, failed authentications only: once an address has used them up, its
 *   requests get 429 before their key is looked at, so a burst of guessed keys learns nothing
 *   and costs one comparison each, not a database lookup;
 * - per API key, every authenticated request.
 *
 * Counts live in this process's memory (the library's MemoryStore): with several API replicas
 * each counts on its own, and a shared store (e.g. rate-limit-redis) is what would make them one.
 * A 429 uses the error envelope, with `Retry-After` and `retry_after_seconds`.
 */
export function createRateLimits(deps: { limits: RateLimits; logger: Logger }) {
  const { limits } = deps;
  const windowMs = limits.windowSeconds * 1000;
  // The library's own warnings (e.g. X-Forwarded-For present but TRUST_PROXY unset) go to our log.
  const logger = {
    error: (err: unknown, msg?: string) => deps.logger.error({ err }, msg ?? 'rate limiter'),
    warn: (err: unknown, msg?: string) => deps.logger.warn({ err }, msg ?? 'rate limiter'),
  };
  const common = { windowMs, legacyHeaders: false, standardHeaders: false, logger } as const;

  const limiter = (opts: { limit: number; key: (req: Request) => string; tooMany: string }) =>
    rateLimit({
      ...common,
      limit: opts.limit,
      keyGenerator: opts.key,
      handler: (req, _res, next) => next(rateLimited(opts.tooMany, secondsUntil((req as Request & { rateLimit?: RateLimitInfo }).rateLimit?.resetTime, windowMs))),
    });

  const perAddress = limiter({ limit: limits.perAddress, key: addressOf, tooMany: 'Too many requests from this address.' });
  const perKey = limiter({ limit: limits.perKey, key: (req) => `key:${req.principal?.keyId ?? ''}`, tooMany: 'Too many requests with this API key.' });
  const failedAuth = limiter({ limit: limits.failedAuthPerAddress, key: addressOf, tooMany: FAILED_AUTH_MESSAGE });

  /** 429 for an address that has used up its failed authentications, before its key is checked. */
  async function failedAuthGate(req: Request, _res: Response, next: NextFunction) {
    const seen = await failedAuth.getKey(addressOf(req));
    if (seen && seen.totalHits >= limits.failedAuthPerAddress) {
      throw rateLimited(FAILED_AUTH_MESSAGE, secondsUntil(seen.resetTime, windowMs));
    }
    next();
  }

  /** Counts one failed authentication; rejects with the 429 when it is one too many. */
  function countFailedAuth(req: Request, res: Response): Promise<void> {
    return new Promise((resolve, reject) => {
      void failedAuth(req, res, (err?: unknown) => (err ? reject(err) : resolve()));
    });
  }

  return { perAddress, perKey, failedAuthGate, countFailedAuth };
}

export type RateLimiters = ReturnType<typeof createRateLimits>;

const FAILED_AUTH_MESSAGE = 'Too many failed authentications from this address.';

/** The client's address as Express sees it (honouring TRUST_PROXY); an IPv6 client counts as its /56. */
function addressOf(req: Request): string {
  return `ip:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;
}

function secondsUntil(resetTime: Date | undefined, windowMs: number): number {
  const ms = resetTime ? resetTime.getTime() - Date.now() : windowMs;
  return Math.max(1, Math.ceil(ms / 1000));
}

function rateLimited(what: string, retryAfterSeconds: number): ApiError {
  const err = ApiError.of(HttpErrorCode.RateLimited, `${what} Retry in ${retryAfterSeconds} s.`);
  err.retryAfterSeconds = retryAfterSeconds;
  return err;
}
