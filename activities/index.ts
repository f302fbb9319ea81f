/**
 * Every activity the worker's main task queue runs, grouped by the domain it serves (the webhook
 * deliveries run on a queue of their own: activities/webhooks.ts). Each group is a factory over
 * explicit dependencies, so tests pass real ones (a real Postgres) or wrap them (to simulate a
 * crash); each activity is safe to run more than once.
 */
import { createHoldService, type HoldService } from '../src/compliance/holds';
import { createCurrencyService } from '../src/currencies/service';
import type { ComplianceService } from '../src/compliance/service';
import type { Db } from '../src/db/knex';
import type { LedgerService } from '../src/ledger/service';
import type { PricingService } from '../src/pricing/service';
import type { PayoutRail } from '../src/rail/client';
import type { TransferRepository } from '../src/transfers/repository';
import type { MovementActivities } from '../workflows/contract';
import { createComplianceActivities } from './compliance';
import { createLegacyActivities } from './legacy';
import { createMovementSteps } from './movements';
import { createPayoutSteps } from './payout-steps';
import { createPayoutActivities } from './payouts';
import { createTransferActivities } from './transfers';

export { ledgerKey } from './movements';
export type { MovementActivities };

export type ActivityDeps = {
  db: Db;
  ledger: LedgerService;
  transfers: TransferRepository;
  pricing: PricingService;
  compliance: ComplianceService;
  /** Where the decisions on compliance holds are recorded (made over the others when not given). */
  holds?: HoldService;
  /** The payout rail adapter (the simulated bank in development and tests). */
  rail: PayoutRail;
  /** Where the rail reports settlements and returns (the API's /rail/events). */
  railCallbackUrl: () => string;
};

export function createActivities(deps: ActivityDeps): MovementActivities {
  const { db, ledger, transfers, compliance } = deps;
  const holds = deps.holds ?? createHoldService({ db, compliance, transfers, currencies: createCurrencyService({ db }) });
  const movements = createMovementSteps({ db, ledger, pricing: deps.pricing, compliance, transfers });
  const payouts = createPayoutSteps({ db, ledger, transfers, rail: deps.rail, railCallbackUrl: deps.railCallbackUrl });
  return {
    ...createTransferActivities({ movements, transfers }),
    ...createComplianceActivities({ db, holds, transfers, movements }),
    ...createPayoutActivities({ movements, payouts }),
    ...createLegacyActivities({ db, ledger, transfers, compliance, movements, holds, payouts }),
  };
}
