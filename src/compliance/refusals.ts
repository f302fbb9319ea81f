import type { CodeOf } from '../refusal';

/**
 * What compliance refuses: a movement its screening declines or an officer rejects (both decline
 * it, response code 651), and a decision it does not take (not held, decided already, made by
 * someone on the maker's side, or by a key that is not a compliance officer's).
 */
export const ComplianceRefusal = {
  Declined: 'compliance_declined',
  Rejected: 'compliance_rejected',
  NotHeld: 'not_held',
  AlreadyDecided: 'already_decided',
  MakerChecker: 'maker_checker_violation',
  /** Only compliance keys decide on held payments. */
  NotAnOfficer: 'not_a_compliance_officer',
  /** A watch-list file that is not CSV, or has no entry at all: nothing was imported. */
  InvalidWatchlistFile: 'invalid_watchlist_file',
} as const;
export type ComplianceRefusalCode = CodeOf<typeof ComplianceRefusal>;
