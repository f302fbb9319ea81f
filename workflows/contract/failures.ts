/**
 * The failure types a workflow reads off a refused step when the failure carries no outcome: those
 * of histories recorded before every refusal carried its outcome (test/fixtures/histories v1-v3),
 * and the ones workflow code raises itself. Frozen, so that running workflows replay as they ran:
 * a new refusal needs no entry here, its outcome travels with it (activities/refusals.ts).
 */
import { outcomeWith, ResponseCode, type RecordedOutcome } from './outcomes';

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

/** What each known failure type ends a movement as: declined with its code, or (a payout the rail refused after it was posted) failed. */
export const KNOWN_FAILURE_OUTCOMES: Record<TransferFailureType, { responseCode: ResponseCode; status: 'declined' | 'failed' }> = {
  [TransferFailureType.InsufficientFunds]: { responseCode: ResponseCode.InsufficientFunds, status: 'declined' },
  [TransferFailureType.AccountNotFound]: { responseCode: ResponseCode.Declined, status: 'declined' },
  [TransferFailureType.AccountNotActive]: { responseCode: ResponseCode.Declined, status: 'declined' },
  [TransferFailureType.HolderNotActive]: { responseCode: ResponseCode.Declined, status: 'declined' },
  [TransferFailureType.CurrencyMismatch]: { responseCode: ResponseCode.Declined, status: 'declined' },
  [TransferFailureType.SameAccount]: { responseCode: ResponseCode.Declined, status: 'declined' },
  [TransferFailureType.FxRateUnavailable]: { responseCode: ResponseCode.Declined, status: 'declined' },
  [TransferFailureType.FxRateStale]: { responseCode: ResponseCode.Declined, status: 'declined' },
  [TransferFailureType.AmountTooSmall]: { responseCode: ResponseCode.Declined, status: 'declined' },
  [TransferFailureType.AmountTooLarge]: { responseCode: ResponseCode.Declined, status: 'declined' },
  [TransferFailureType.ComplianceDeclined]: { responseCode: ResponseCode.ComplianceFirewall, status: 'declined' },
  [TransferFailureType.ComplianceRejected]: { responseCode: ResponseCode.ComplianceFirewall, status: 'declined' },
  [TransferFailureType.BeneficiaryNotActive]: { responseCode: ResponseCode.Declined, status: 'declined' },
  [TransferFailureType.RailRejected]: { responseCode: ResponseCode.Declined, status: 'failed' },
};

export const isKnownFailureType = (type: unknown): type is TransferFailureType =>
  typeof type === 'string' && Object.prototype.hasOwnProperty.call(KNOWN_FAILURE_OUTCOMES, type);

/** The outcome a known failure type records, with its reason after the code's message. */
export function knownFailureOutcome(type: TransferFailureType, reason: string): RecordedOutcome {
  const { responseCode, status } = KNOWN_FAILURE_OUTCOMES[type];
  return outcomeWith(status, responseCode, reason);
}
