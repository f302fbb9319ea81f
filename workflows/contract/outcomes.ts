/**
 * How a transfer or payout ends: its status, its response code (with the code's message, as the
 * API shows them: response code 1 success, 12 quarantined, 101 declined, 606 contact support, 650
 * insufficient funds, 651 compliance firewall), and the outcome the workflow records. Pure data:
 * the workflow sandbox runs it, and the API and the activities read it.
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

/** An outcome as it is recorded on the transfer: never one of the open statuses. */
export type RecordedOutcome = { status: Exclude<TransferStatus, 'processing' | 'held' | 'sent'>; responseCode: ResponseCode; message: string };

export const SUCCESS: RecordedOutcome = { status: 'completed', responseCode: ResponseCode.Success, message: RESPONSE_MESSAGES[ResponseCode.Success] };

/** An outcome with its reason after the code's message ("declined: the source account is frozen"), at most 500 characters as stored. */
export function outcomeWith(status: RecordedOutcome['status'], responseCode: ResponseCode, reason: string): RecordedOutcome {
  return { status, responseCode, message: `${RESPONSE_MESSAGES[responseCode]}: ${reason}`.slice(0, 500) };
}

/** Something only people can sort out: recorded as failed with 606 and what happened. */
export const contactSupport = (what: string): RecordedOutcome => outcomeWith('failed', ResponseCode.ContactSupport, what);
