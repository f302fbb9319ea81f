import { STATUS_CODES } from 'node:http';

/**
 * Every error the API can return, each mapped to exactly one HTTP status here and nowhere else.
 * Bodies use one envelope: {code: "422 Unprocessable Entity", message, errors: [{error_code, message, path}], id}.
 */
export enum ApiErrorCode {
  MalformedJson = 'malformed_json',
  BodyTooLarge = 'body_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  ValidationError = 'validation_error',
  MissingField = 'missing_field',
  InvalidType = 'invalid_type',
  UnknownField = 'unknown_field',
  InvalidValue = 'invalid_value',
  InvalidAmount = 'invalid_amount',
  AmountNotPositive = 'amount_not_positive',
  TooManyDecimals = 'too_many_decimals',
  AmountTooLarge = 'amount_too_large',
  InvalidCursor = 'invalid_cursor',
  AccountNotFound = 'account_not_found',
  CustomerNotFound = 'customer_not_found',
  BeneficiaryNotFound = 'beneficiary_not_found',
  CurrencyNotSupported = 'currency_not_supported',
  CrossCurrencyNotSupported = 'cross_currency_not_supported',
  AccountNotActive = 'account_not_active',
  AmountTooSmall = 'amount_too_small',
  FxRateUnavailable = 'fx_rate_unavailable',
  FxRateStale = 'fx_rate_stale',
  FxRateNotApplicable = 'fx_rate_not_applicable',
  InvalidFeeOverride = 'invalid_fee_override',
  QuoteNotFound = 'quote_not_found',
  QuoteExpired = 'quote_expired',
  QuoteAlreadyUsed = 'quote_already_used',
  QuoteMismatch = 'quote_mismatch',
  InvalidTariffRanges = 'invalid_tariff_ranges',
  TariffExists = 'tariff_exists',
  NotHeld = 'not_held',
  PayoutClosed = 'payout_closed',
  InvalidSignature = 'invalid_signature',
  RailReferenceMismatch = 'rail_reference_mismatch',
  RailReferenceNotRecorded = 'rail_reference_not_recorded',
  AlreadyDecided = 'already_decided',
  MakerChecker = 'maker_checker_violation',
  IdempotencyKeyMissing = 'idempotency_key_missing',
  IdempotencyKeyReused = 'idempotency_key_reused',
  ExternalIdAlreadyUsed = 'external_id_already_used',
  Unauthenticated = 'expired_token',
  NotAuthorized = 'not_authorized',
  NotFound = 'not_found',
  RevokingOwnKey = 'revoking_own_key',
  InvalidWebhookUrl = 'invalid_webhook_url',
  WebhookEndpointDisabled = 'webhook_endpoint_disabled',
  NoWebhookEndpoint = 'no_webhook_endpoint',
  RateLimited = 'rate_limited',
  MethodNotAllowed = 'method_not_allowed',
  ServiceUnavailable = 'service_unavailable',
  InternalError = 'internal_error',
}

export const HTTP_STATUS: Record<ApiErrorCode, number> = {
  [ApiErrorCode.MalformedJson]: 400,
  [ApiErrorCode.BodyTooLarge]: 413,
  [ApiErrorCode.UnsupportedMediaType]: 415,
  [ApiErrorCode.ValidationError]: 422,
  [ApiErrorCode.MissingField]: 422,
  [ApiErrorCode.InvalidType]: 422,
  [ApiErrorCode.UnknownField]: 422,
  [ApiErrorCode.InvalidValue]: 422,
  [ApiErrorCode.InvalidAmount]: 422,
  [ApiErrorCode.AmountNotPositive]: 422,
  [ApiErrorCode.TooManyDecimals]: 422,
  [ApiErrorCode.AmountTooLarge]: 422,
  [ApiErrorCode.InvalidCursor]: 422,
  [ApiErrorCode.AccountNotFound]: 422,
  [ApiErrorCode.CustomerNotFound]: 422,
  [ApiErrorCode.BeneficiaryNotFound]: 422,
  [ApiErrorCode.CurrencyNotSupported]: 422,
  [ApiErrorCode.CrossCurrencyNotSupported]: 422,
  [ApiErrorCode.AccountNotActive]: 422,
  [ApiErrorCode.AmountTooSmall]: 422,
  [ApiErrorCode.FxRateUnavailable]: 422,
  [ApiErrorCode.FxRateStale]: 422,
  [ApiErrorCode.FxRateNotApplicable]: 422,
  [ApiErrorCode.InvalidFeeOverride]: 422,
  [ApiErrorCode.QuoteNotFound]: 422,
  [ApiErrorCode.QuoteExpired]: 422,
  [ApiErrorCode.QuoteAlreadyUsed]: 422,
  [ApiErrorCode.QuoteMismatch]: 422,
  [ApiErrorCode.InvalidTariffRanges]: 422,
  [ApiErrorCode.TariffExists]: 409,
  [ApiErrorCode.NotHeld]: 409,
  [ApiErrorCode.PayoutClosed]: 409,
  [ApiErrorCode.InvalidSignature]: 401,
  [ApiErrorCode.RailReferenceMismatch]: 422,
  [ApiErrorCode.RailReferenceNotRecorded]: 409,
  [ApiErrorCode.AlreadyDecided]: 409,
  [ApiErrorCode.MakerChecker]: 403,
  [ApiErrorCode.IdempotencyKeyMissing]: 422,
  [ApiErrorCode.IdempotencyKeyReused]: 422,
  [ApiErrorCode.ExternalIdAlreadyUsed]: 409,
  [ApiErrorCode.Unauthenticated]: 401,
  [ApiErrorCode.NotAuthorized]: 403,
  [ApiErrorCode.NotFound]: 404,
  [ApiErrorCode.RevokingOwnKey]: 409,
  [ApiErrorCode.InvalidWebhookUrl]: 422,
  [ApiErrorCode.WebhookEndpointDisabled]: 409,
  [ApiErrorCode.NoWebhookEndpoint]: 409,
  [ApiErrorCode.RateLimited]: 429,
  [ApiErrorCode.MethodNotAllowed]: 405,
  [ApiErrorCode.ServiceUnavailable]: 503,
  [ApiErrorCode.InternalError]: 500,
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

export type ErrorDetail = { error_code: ApiErrorCode; message: string; path: string | null };

export class ApiError extends Error {
  readonly status: number;
  readonly errors: ErrorDetail[];
  /** For 429 and 503: how long to wait before retrying, sent as Retry-After and in the envelope. */
  retryAfterSeconds?: number;
  constructor(errors: ErrorDetail[] | ErrorDetail, message?: string) {
    const list = Array.isArray(errors) ? errors : [errors];
    const first = list[0];
    if (!first) throw new Error('ApiError needs at least one detail');
    const status = HTTP_STATUS[first.error_code];
    super(message ?? SUMMARY[status] ?? STATUS_CODES[status] ?? 'Error');
    this.status = status;
    this.errors = list;
  }

  static of(code: ApiErrorCode, message: string, path: string | null = null): ApiError {
    return new ApiError({ error_code: code, message, path });
  }

  static unavailable(message: string, retryAfterSeconds: number): ApiError {
    const err = ApiError.of(ApiErrorCode.ServiceUnavailable, message);
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
