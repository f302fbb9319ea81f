import { createAccountService } from './accounts/service';
import { createAuthService } from './auth/service';
import { createBeneficiaryService } from './beneficiaries/service';
import { createHoldService } from './compliance/holds';
import { createComplianceService } from './compliance/service';
import { createCurrencyService } from './currencies/service';
import { createCustomerService } from './customers/service';
import type { Db } from './db/knex';
import { createQuoteService } from './pricing/quotes';
import { createFxRateService, createTableRateProvider, type RateProvider } from './fx/rates';
import { createSpreadService } from './fx/spreads';
import { createLedgerService } from './ledger/service';
import { createPricingService } from './pricing/service';
import { createTariffService } from './tariffs/service';
import { createTransferRepository } from './transfers/repository';
import { createTransferService } from './transfers/service';
import { createWebhookStatusListener } from './webhooks/events';

export type ServiceOptions = {
  /** A transfer is never priced with a market rate older than this. */
  fxRateMaxAgeMs: number;
  /** How long a quote's price is locked. */
  fxQuoteTtlMs: number;
  /** Market rates: the fx_rates table unless a live feed is plugged in. */
  rates?: RateProvider;
};

/** The domain services over one database: the composition root shared by the API, the worker and tests. */
export function createServices(db: Db, opts: ServiceOptions) {
  const ledger = createLedgerService({ db });
  const currencies = createCurrencyService({ db });
  const customers = createCustomerService({ db });
  const accounts = createAccountService({ db, ledger, customers, currencies });
  const quotes = createQuoteService({ db, ttlMs: opts.fxQuoteTtlMs });
  const spreads = createSpreadService({ db });
  const tariffs = createTariffService({ db });
  const rates = opts.rates ?? createTableRateProvider(db);
  const pricing = createPricingService({
    currencies,
    rates,
    spreads,
    tariffs,
    maxRateAgeMs: opts.fxRateMaxAgeMs,
  });
  const compliance = createComplianceService({ db, rates, currencies });
  // Every status change records its webhook event in the same commit (the outbox).
  const transferRepository = createTransferRepository(db, createWebhookStatusListener());
  return {
    db,
    compliance,
    holds: createHoldService({ db, compliance, transfers: transferRepository, currencies }),
    beneficiaries: createBeneficiaryService({ db, customers, currencies }),
    ledger,
    currencies,
    customers,
    accounts,
    auth: createAuthService({ db }),
    rates: createFxRateService({ db }),
    rateProvider: rates,
    spreads,
    tariffs,
    pricing,
    quotes,
    transfers: createTransferService({ db, accounts, ledger, quotes }),
    transferRepository,
  };
}

export type Services = ReturnType<typeof createServices>;
