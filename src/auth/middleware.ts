import type { NextFunction, Request, Response } from 'express';
import { ApiError, HttpErrorCode } from '../http/errors';
import type { AuthService, Principal, Role } from './service';

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    requestId: string;
  }
}

/**
 * `Authorization: Bearer <key>` on every /v1 route; 401 when missing, unknown or revoked. Reads the
 * header only: it runs before the body is read, so an unauthenticated body is never buffered.
 * `onFailure` sees each failed attempt first (the failed-authentication rate limit counts it and
 * may answer 429 instead).
 */
export function authenticate(auth: AuthService, opts: { onFailure?: (req: Request, res: Response) => Promise<void> } = {}) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization') ?? '';
    const match = /^Bearer\s+(\S{8,256})$/i.exec(header);
    const principal = match?.[1] ? await auth.authenticate(match[1]) : undefined;
    if (!principal) {
      await opts.onFailure?.(req, res);
      throw ApiError.of(HttpErrorCode.Unauthenticated, "The token is expired, inactive, or doesn't exist.");
    }
    req.principal = principal;
    next();
  };
}

/** 403 unless the caller has one of the roles. */
export function requireRole(...roles: Role[]) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!req.principal || !roles.includes(req.principal.role)) {
      throw ApiError.of(HttpErrorCode.NotAuthorized, 'Not authorized to have access to this resource.');
    }
    next();
  };
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw ApiError.of(HttpErrorCode.Unauthenticated, "The token is expired, inactive, or doesn't exist.");
  return req.principal;
}

/** A client key sees only its own customer's resources; others are reported as not found, never as forbidden. */
export function canSeeCustomer(principal: Principal, customerId: string | null): boolean {
  return principal.role !== 'client' || (customerId !== null && principal.customerId === customerId);
}
