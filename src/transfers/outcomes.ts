/**
 * Outcome codes of a transfer, as seed 001 defines them ("response_code" with its "message").
 * Pure data: imported by the workflow sandbox as well as by the API.
 */
export const ResponseCode = {
  Success: '1',
  Quarantined: '12',
  Declined: '101',
  ContactSupport: '606',
  InsufficientFunds: '650',
  ComplianceFirewall: '651',
} as const;
export type ResponseCode = (typeof ResponseCode)[keyof typeof ResponseCode];

export const RESPONSE_MESSAGES: Record<ResponseCode, string> = {
  '1': 'success',
  '12': 'quarantined',
  '101': 'declined',
  '606': 'contact_support',
  '650': 'insufficient_funds',
  '651': 'compliance_firewall',
};

export type TransferStatus = 'processing' | 'held' | 'sent' | 'completed' | 'declined' | 'failed' | 'returned';
export const TERMINAL_STATUSES: readonly TransferStatus[] = ['completed', 'declined', 'failed', 'returned'];

/**
 * Why a transfer was refused: the `type` of the non-retryable ApplicationFailure an activity throws.
 * Every reason maps to exactly one response code.
 */
export enum TransferFailureType {
  InsufficientFunds = 'InsufficientFunds',
  AccountNotFound = 'AccountNotFound',
  AccountNotActive = 'AccountNotActive',
  HolderNotActive = 'HolderNotActive',
  CurrencyMismatch = 'CurrencyMismatch',
  SameAccount = 'SameAccount',
  FxRateUnavailable = 'FxRateUnavailable',
  FxRateStale = 'FxRateStale',
  AmountTooSmall = 'AmountTooSmall',
  AmountTooLarge = 'AmountTooLarge',
  ComplianceDeclined = 'ComplianceDeclined',
  ComplianceRejected = 'ComplianceRejected',
  BeneficiaryNotActive = 'BeneficiaryNotActive',
  RailRejected = 'RailRejected',
}

export const FAILURE_RESPONSE_CODES: Record<TransferFailureType, ResponseCode> = {
  [TransferFailureType.InsufficientFunds]: ResponseCode.InsufficientFunds,
  [TransferFailureType.AccountNotFound]: ResponseCode.Declined,
  [TransferFailureType.AccountNotActive]: ResponseCode.Declined,
  [TransferFailureType.HolderNotActive]: ResponseCode.Declined,
  [TransferFailureType.CurrencyMismatch]: ResponseCode.Declined,
  [TransferFailureType.SameAccount]: ResponseCode.Declined,
  [TransferFailureType.FxRateUnavailable]: ResponseCode.Declined,
  [TransferFailureType.FxRateStale]: ResponseCode.Declined,
  [TransferFailureType.AmountTooSmall]: ResponseCode.Declined,
  [TransferFailureType.AmountTooLarge]: ResponseCode.Declined,
  [TransferFailureType.ComplianceDeclined]: ResponseCode.ComplianceFirewall,
  [TransferFailureType.ComplianceRejected]: ResponseCode.ComplianceFirewall,
  [TransferFailureType.BeneficiaryNotActive]: ResponseCode.Declined,
  [TransferFailureType.RailRejected]: ResponseCode.Declined,
};

export const isTransferFailureType = (type: unknown): type is TransferFailureType =>
  typeof type === 'string' && Object.prototype.hasOwnProperty.call(FAILURE_RESPONSE_CODES, type);

export type RecordedOutcome = { status: Exclude<TransferStatus, 'processing' | 'held' | 'sent'>; responseCode: ResponseCode; message: string };

export const SUCCESS: RecordedOutcome = { status: 'completed', responseCode: ResponseCode.Success, message: RESPONSE_MESSAGES[ResponseCode.Success] };

/**
 * The outcome a refusal is recorded with: its response code, and its reason after the code's name.
 * The rail refusing a payout that was already posted is a failure (compensated), not a decline.
 */
export function refusalOutcome(type: TransferFailureType, reason: string): RecordedOutcome {
  const responseCode = FAILURE_RESPONSE_CODES[type];
  return { status: type === TransferFailureType.RailRejected ? 'failed' : 'declined', responseCode, message: `${RESPONSE_MESSAGES[responseCode]}: ${reason}`.slice(0, 500) };
}

/** Something only people can sort out: recorded as failed with 606 and what happened. */
export const contactSupport = (what: string): RecordedOutcome => ({
  status: 'failed',
  responseCode: ResponseCode.ContactSupport,
  message: `${RESPONSE_MESSAGES[ResponseCode.ContactSupport]}: ${what}`.slice(0, 500),
});
