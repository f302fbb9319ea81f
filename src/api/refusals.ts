/**
 * Every domain refusal as HTTP answers it: one row per code, with its status and, where the wire
 * code or the input differs from the refusal's own, those. The only place a refusal becomes HTTP;
 * the other edge, activities/refusals.ts, makes the ones that end a transfer or payout its outcome.
 */
import { HTTP_STATUS, HttpErrorCode, ApiError } from '../http/errors';
import type { AccountRefusalCode } from '../accounts/refusals';
import type { AuthRefusalCode } from '../auth/refusals';
import type { BeneficiaryRefusalCode } from '../beneficiaries/refusals';
import type { ComplianceRefusalCode } from '../compliance/refusals';
import type { CurrencyRefusalCode } from '../currencies/refusals';
import type { CustomerRefusalCode } from '../customers/refusals';
import type { FxRefusalCode } from '../fx/refusals';
import type { LedgerRefusalCode } from '../ledger/refusals';
import type { AmountRefusalCode } from '../money/money';
import type { PayoutRefusalCode } from '../payouts/refusals';
import type { PricingRefusalCode } from '../pricing/refusals';
import type { Refusal } from '../refusal';
import type { TariffRefusalCode } from '../tariffs/refusals';
import type { TransferRefusalCode } from '../transfers/refusals';
import type { WebhookRefusalCode } from '../webhooks/refusals';

export type RefusalCode =
  | AccountRefusalCode
  | AmountRefusalCode
  | AuthRefusalCode
  | BeneficiaryRefusalCode
  | ComplianceRefusalCode
  | CurrencyRefusalCode
  | CustomerRefusalCode
  | FxRefusalCode
  | LedgerRefusalCode
  | PayoutRefusalCode
  | PricingRefusalCode
  | TariffRefusalCode
  | TransferRefusalCode
  | WebhookRefusalCode;

/** `errorCode`: the wire's error_code when it is not the refusal's own; `path`: the input when the refusal names none. */
type HttpAnswer = { status: number; errorCode?: string; path?: string };

const unprocessable: HttpAnswer = { status: 422 };
const conflict: HttpAnswer = { status: 409 };
const invalidValue = (path?: string): HttpAnswer => ({ status: 422, errorCode: HttpErrorCode.InvalidValue, ...(path ? { path } : {}) });
/** A refusal that never reaches a request (a workflow step's), answered as the bug it would be there. */
const internal: HttpAnswer = { status: 500, errorCode: HttpErrorCode.InternalError };

export const HTTP_ANSWERS: Record<RefusalCode, HttpAnswer> = {
  // Amounts a client gives.
  invalid_amount: unprocessable,
  amount_not_positive: unprocessable,
  too_many_decimals: unprocessable,
  amount_too_large: unprocessable,
  // Who and what a request names.
  account_not_found: unprocessable,
  customer_not_found: unprocessable,
  beneficiary_not_found: unprocessable,
  currency_not_supported: unprocessable,
  invalid_iban: invalidValue(),
  revoking_own_key: conflict,
  // The ledger.
  account_not_active: unprocessable,
  insufficient_funds: unprocessable,
  currency_mismatch: unprocessable,
  idempotency_conflict: { status: 422, errorCode: 'idempotency_key_reused', path: 'header/Idempotency-Key' },
  hold_not_found: internal,
  hold_not_pending: internal,
  unbalanced_transaction: internal,
  // Pricing, quotes and fee schedules.
  amount_too_small: unprocessable,
  fx_rate_unavailable: unprocessable,
  fx_rate_required: { status: 422, errorCode: 'fx_rate_unavailable' },
  fx_rate_stale: unprocessable,
  invalid_rate: invalidValue('#/fx_rate'),
  fx_rate_not_applicable: unprocessable,
  price_setting_not_allowed: { status: 403, errorCode: HttpErrorCode.NotAuthorized },
  one_amount_required: invalidValue('#/source_amount'),
  invalid_fee_override: unprocessable,
  quote_not_found: unprocessable,
  quote_expired: unprocessable,
  quote_already_used: unprocessable,
  quote_mismatch: unprocessable,
  invalid_tariff_ranges: unprocessable,
  tariff_exists: conflict,
  rate_between_same_currency: invalidValue(),
  rate_from_the_future: invalidValue(),
  // Transfers and payouts: a create refused, and (never over HTTP) a movement declined by its workflow.
  idempotency_key_reused: { status: 422, path: 'header/Idempotency-Key' },
  external_id_already_used: conflict,
  same_account: internal,
  holder_not_active: internal,
  beneficiary_not_active: internal,
  rail_rejected: internal,
  payout_closed: conflict,
  rail_reference_mismatch: unprocessable,
  rail_reference_not_recorded: conflict,
  // Compliance.
  compliance_declined: internal,
  compliance_rejected: internal,
  not_held: conflict,
  already_decided: conflict,
  maker_checker_violation: { status: 403 },
  not_a_compliance_officer: { status: 403, errorCode: HttpErrorCode.NotAuthorized },
  invalid_watchlist_file: invalidValue('#/csv'),
  // Webhooks.
  invalid_webhook_url: unprocessable,
  webhook_endpoint_disabled: conflict,
  no_webhook_endpoint: conflict,
};

/** A refusal as the API answers it: one error detail per problem, under the refusal's status. */
export function refusalAsApiError(refusal: Refusal): ApiError {
  const answer = HTTP_ANSWERS[refusal.code as RefusalCode] ?? internal;
  const errorCode = answer.errorCode ?? refusal.code;
  const problems = refusal.problems.length ? refusal.problems : [{ message: refusal.message, path: refusal.path ?? answer.path ?? null }];
  return new ApiError(answer.status, problems.map((p) => ({ error_code: errorCode, message: p.message, path: p.path })));
}

/** Every error code the API can answer, and its status: HTTP's own, and the refusals' as answered. */
export const API_ERROR_STATUSES: ReadonlyMap<string, number> = new Map([
  ...Object.values(HttpErrorCode).map((code) => [code, HTTP_STATUS[code]] as const),
  ...Object.entries(HTTP_ANSWERS).filter(([, a]) => a !== internal).map(([code, a]) => [a.errorCode ?? code, a.status] as const),
]);

/** The wire's error codes, for the error envelope's schema and those who list them. */
export const ApiErrorCode = Object.fromEntries([...API_ERROR_STATUSES.keys()].map((code) => [code, code]));
