import { STATUS_CODES } from 'node:http';

/**
 * The error codes of HTTP itself, each with its one status: a body that is not JSON, a field that
 * fails validation, a missing key, a rate limit. What the domains refuse has codes of their own,
 * mapped to HTTP once, at the API's edge (src/api/refusals.ts). Every error answer uses one
 * envelope: {code: "422 Unprocessable Entity", message, errors: [{error_code, message, path}], id}.
 */
export enum HttpErrorCode {
  MalformedJson = 'malformed_json',
  BodyTooLarge = 'body_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  ValidationError = 'validation_error',
  MissingField = 'missing_field',
  InvalidType = 'invalid_type',
  UnknownField = 'unknown_field',
  InvalidValue = 'invalid_value',
  InvalidCursor = 'invalid_cursor',
  IdempotencyKeyMissing = 'idempotency_key_missing',
  InvalidSignature = 'invalid_signature',
  Unauthenticated = 'expired_token',
  NotAuthorized = 'not_authorized',
  NotFound = 'not_found',
  RateLimited = 'rate_limited',
  MethodNotAllowed = 'method_not_allowed',
  ServiceUnavailable = 'service_unavailable',
  InternalError = 'internal_error',
}

export const HTTP_STATUS: Record<HttpErrorCode, number> = {
  [HttpErrorCode.MalformedJson]: 400,
  [HttpErrorCode.BodyTooLarge]: 413,
  [HttpErrorCode.UnsupportedMediaType]: 415,
  [HttpErrorCode.ValidationError]: 422,
  [HttpErrorCode.MissingField]: 422,
  [HttpErrorCode.InvalidType]: 422,
  [HttpErrorCode.UnknownField]: 422,
  [HttpErrorCode.InvalidValue]: 422,
  [HttpErrorCode.InvalidCursor]: 422,
  [HttpErrorCode.IdempotencyKeyMissing]: 422,
  [HttpErrorCode.InvalidSignature]: 401,
  [HttpErrorCode.Unauthenticated]: 401,
  [HttpErrorCode.NotAuthorized]: 403,
  [HttpErrorCode.NotFound]: 404,
  [HttpErrorCode.RateLimited]: 429,
  [HttpErrorCode.MethodNotAllowed]: 405,
  [HttpErrorCode.ServiceUnavailable]: 503,
  [HttpErrorCode.InternalError]: 500,
};

/** Top-level messages, like the seeds' "Validation errors" / "Malformed request". */
const SUMMARY: Partial<Record<number, string>> = {
  400: 'Malformed request',
  401: 'Authorization header is missing or invalid.',
  403: 'Not authorized to have access to this resource',
  404: 'Resource not found',
  409: 'Conflict with the current state of the resource',
  413: 'Request body too large',
  415: 'Unsupported media type',
  422: 'Validation errors',
  429: 'Too many requests',
  503: 'Service temporarily unavailable',
  500: 'Internal server error',
};

export type ErrorDetail = { error_code: string; message: string; path: string | null };

export class ApiError extends Error {
  /** For 429 and 503: how long to wait before retrying, sent as Retry-After and in the envelope. */
  retryAfterSeconds?: number;
  constructor(
    readonly status: number,
    readonly errors: ErrorDetail[],
    message?: string,
  ) {
    if (errors.length === 0) throw new Error('ApiError needs at least one detail');
    super(message ?? SUMMARY[status] ?? STATUS_CODES[status] ?? 'Error');
  }

  static of(code: HttpErrorCode, message: string, path: string | null = null): ApiError {
    return new ApiError(HTTP_STATUS[code], [{ error_code: code, message, path }]);
  }

  static unavailable(message: string, retryAfterSeconds: number): ApiError {
    const err = ApiError.of(HttpErrorCode.ServiceUnavailable, message);
    err.retryAfterSeconds = retryAfterSeconds;
    return err;
  }
}

/** `#/source_amount` style JSON pointers, as in the seeds' error paths. */
export const pointer = (segments: ReadonlyArray<PropertyKey>): string | null =>
  segments.length === 0 ? null : `#/${segments.map(String).join('/')}`;

export function errorEnvelope(err: ApiError, requestId: string) {
  return {
    code: `${err.status} ${STATUS_CODES[err.status] ?? ''}`.trim(),
    message: err.message,
    errors: err.errors,
    ...(err.retryAfterSeconds !== undefined ? { retry_after_seconds: err.retryAfterSeconds } : {}),
    id: requestId,
  };
}
