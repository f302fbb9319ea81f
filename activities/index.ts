/**
 * Every activity the worker registers, grouped by the domain it serves. Each group is a factory
 * over explicit dependencies, so tests pass real ones (a real Postgres) or wrap them (to simulate a
 * crash); each activity is safe to run more than once.
 */
import { createHoldDecisions } from '../src/compliance/hold-decisions';
import type { ComplianceService } from '../src/compliance/service';
import type { Db } from '../src/db/knex';
import type { LedgerService } from '../src/ledger/service';
import { createPayoutService } from '../src/payouts/service';
import type { PricingService } from '../src/pricing/service';
import type { PayoutRail } from '../src/rail/client';
import { createMovementService } from '../src/transfers/movements';
import type { TransferRepository } from '../src/transfers/repository';
import { createComplianceActivities } from './compliance';
import { createLegacyActivities } from './legacy';
import { createPayoutActivities } from './payouts';
import { createTransferActivities } from './transfers';

export { ledgerKey } from '../src/transfers/movements';
export type { TransferRef } from './transfers';

export type ActivityDeps = {
  db: Db;
  ledger: LedgerService;
  transfers: TransferRepository;
  pricing: PricingService;
  compliance: ComplianceService;
  /** The payout rail adapter (the simulated bank in development and tests). */
  rail: PayoutRail;
  /** Where the rail reports settlements and returns (the API's /rail/events). */
  railCallbackUrl: () => string;
};

export function createActivities(deps: ActivityDeps) {
  const { db, ledger, transfers, compliance } = deps;
  const movements = createMovementService({ db, ledger, pricing: deps.pricing, compliance, transfers });
  const holdDecisions = createHoldDecisions({ db, compliance, transfers, movements });
  const payouts = createPayoutService({ db, ledger, transfers, rail: deps.rail, railCallbackUrl: deps.railCallbackUrl });
  return {
    ...createTransferActivities({ movements, transfers }),
    ...createComplianceActivities({ holdDecisions }),
    ...createPayoutActivities({ movements, payouts }),
    ...createLegacyActivities({ db, ledger, transfers, compliance, movements, holdDecisions, payouts }),
  };
}

export type TransferActivities = ReturnType<typeof createActivities>;
