import type { Knex } from 'knex';

/**
 * Cross-currency pricing (seeds 002/003): market rates, spreads, tariffs (fee schedules), locked
 * quotes, the price recorded on each transfer, and the system accounts its entries go through.
 */
export async function up(knex: Knex): Promise<void> {
  await createFxRatesAndSpreads(knex);
  await createTariffs(knex);
  await createFxQuotes(knex);
  await addTransferPricing(knex);
  await createPricingSystemAccounts(knex);
}

async function createFxRatesAndSpreads(knex: Knex): Promise<void> {
  await knex.raw(`
    -- 1 base = rate quote. A pair and its inverse are written together (src/fx/rates.ts).
    CREATE TABLE fx_rates (
      base       char(3) NOT NULL REFERENCES currencies(code),
      quote      char(3) NOT NULL REFERENCES currencies(code),
      rate       numeric(38, 18) NOT NULL CHECK (rate > 0),
      as_of      timestamptz NOT NULL,
      source     text NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (base, quote),
      CHECK (base <> quote)
    );

    -- FX markup as a percentage (1 = 1%), per source/target pair; '*'/'*' is the default.
    CREATE TABLE fx_spreads (
      source_currency text NOT NULL CHECK (source_currency = '*' OR source_currency ~ '^[A-Z]{3}$'),
      target_currency text NOT NULL CHECK (target_currency = '*' OR target_currency ~ '^[A-Z]{3}$'),
      percentage      numeric(12, 6) NOT NULL CHECK (percentage >= 0 AND percentage < 100),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source_currency, target_currency),
      CHECK ((source_currency = '*') = (target_currency = '*'))
    );
    INSERT INTO fx_spreads (source_currency, target_currency, percentage) VALUES ('*', '*', 0);
  `);
}

async function createTariffs(knex: Knex): Promise<void> {
  await knex.raw(`
    -- A fee schedule per operation and currency, made of contiguous amount ranges [min, max).
    CREATE TABLE tariffs (
      id         uuid PRIMARY KEY,
      operation  text NOT NULL CHECK (operation IN ('account_to_account', 'account_to_account_fx', 'payout')),
      currency   char(3) NOT NULL REFERENCES currencies(code),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT tariffs_operation_currency_uq UNIQUE (operation, currency)
    );
    CREATE TABLE tariff_ranges (
      id             uuid PRIMARY KEY,
      tariff_id      uuid NOT NULL REFERENCES tariffs(id) ON DELETE CASCADE,
      position       smallint NOT NULL,
      min_amount     numeric(38, 8) NOT NULL CHECK (min_amount >= 0),
      max_amount     numeric(38, 8) CHECK (max_amount IS NULL OR max_amount > min_amount),
      fixed_amount   numeric(38, 8) NOT NULL DEFAULT 0 CHECK (fixed_amount >= 0),
      percentage     numeric(12, 6) NOT NULL DEFAULT 0 CHECK (percentage >= 0 AND percentage < 100),
      min_fee        numeric(38, 8) CHECK (min_fee IS NULL OR min_fee >= 0),
      max_fee        numeric(38, 8) CHECK (max_fee IS NULL OR max_fee >= 0),
      tx_description text,
      UNIQUE (tariff_id, position),
      CHECK (min_fee IS NULL OR max_fee IS NULL OR min_fee <= max_fee)
    );
  `);
}

async function createFxQuotes(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE fx_quotes (
      id                 uuid PRIMARY KEY,
      -- who may use it: the client's customer, or the admin key that asked
      owner_scope        text NOT NULL,
      source_account_id  uuid REFERENCES accounts(id),
      source_currency    char(3) NOT NULL REFERENCES currencies(code),
      target_currency    char(3) NOT NULL REFERENCES currencies(code),
      given_side         text NOT NULL CHECK (given_side IN ('source', 'target')),
      source_amount      numeric(38, 8) NOT NULL CHECK (source_amount > 0),
      target_amount      numeric(38, 8) NOT NULL CHECK (target_amount > 0),
      market_rate        numeric NOT NULL,
      fx_rate            numeric NOT NULL,
      price              jsonb NOT NULL,
      rate_as_of         timestamptz,
      expires_at         timestamptz NOT NULL,
      used_by_transfer_id uuid CONSTRAINT fx_quotes_used_once_uq UNIQUE,
      created_at         timestamptz NOT NULL DEFAULT now()
    );
  `);
}

async function addTransferPricing(knex: Knex): Promise<void> {
  await knex.raw(`
    -- The price a transfer was made at, recorded by the workflow's pricing step (or locked by a quote).
    ALTER TABLE transfers
      ALTER COLUMN source_amount DROP NOT NULL,
      ALTER COLUMN target_amount DROP NOT NULL,
      ADD COLUMN operation_type text NOT NULL DEFAULT 'account_to_account'
        CHECK (operation_type IN ('account_to_account', 'account_to_account_fx')),
      ADD COLUMN client_fx_rate numeric CHECK (client_fx_rate > 0),
      ADD COLUMN override_fees  jsonb,
      ADD COLUMN quote_id       uuid REFERENCES fx_quotes(id),
      ADD COLUMN market_rate    numeric,
      ADD COLUMN fx_rate        numeric,
      ADD COLUMN rate_as_of     timestamptz,
      ADD COLUMN fixed_fee      numeric(38, 8),
      ADD COLUMN spread_fee     numeric(38, 8),
      -- calculated_fees as the API shows them, with each fee's id and description
      ADD COLUMN calculated_fees jsonb,
      ADD COLUMN priced_at      timestamptz,
      ADD CONSTRAINT transfers_quote_used_once UNIQUE (quote_id),
      ADD CONSTRAINT transfers_given_amount CHECK (source_amount IS NOT NULL OR target_amount IS NOT NULL),
      ADD CONSTRAINT transfers_priced_before_done CHECK (
        status NOT IN ('completed') OR (source_amount IS NOT NULL AND target_amount IS NOT NULL AND priced_at IS NOT NULL)) NOT VALID;

    -- Transfers from before pricing existed were same-currency and fee-free: record them as such.
    -- (Declined rows may lack a price: the constraint only requires one once completed.)
    UPDATE transfers
       SET market_rate = 1, fx_rate = 1, fixed_fee = 0, spread_fee = 0, calculated_fees = '{}'::jsonb,
           priced_at = coalesce(completed_at, created_at)
     WHERE priced_at IS NULL AND source_amount IS NOT NULL AND target_amount IS NOT NULL;
    ALTER TABLE transfers VALIDATE CONSTRAINT transfers_priced_before_done;
  `);
}

async function createPricingSystemAccounts(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Where fees, spreads and conversions go: revenue accounts and an FX position per currency.
    INSERT INTO accounts (id, currency, kind, system_purpose, allow_negative)
    SELECT gen_random_uuid(), c.code, 'system', p.purpose, p.purpose = 'fx_position'
    FROM currencies c CROSS JOIN (VALUES ('fee_revenue'), ('spread_revenue'), ('fx_position')) AS p(purpose);

    -- A currency added later gets its system accounts with it.
    CREATE FUNCTION currencies_create_system_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO accounts (id, currency, kind, system_purpose, allow_negative)
      SELECT gen_random_uuid(), NEW.code, 'system', p.purpose, p.purpose IN ('funding', 'fx_position')
      FROM (VALUES ('funding'), ('fee_revenue'), ('spread_revenue'), ('fx_position')) AS p(purpose)
      ON CONFLICT DO NOTHING;
      RETURN NEW;
    END $$;
    CREATE TRIGGER currencies_system_accounts AFTER INSERT ON currencies
      FOR EACH ROW EXECUTE FUNCTION currencies_create_system_accounts();
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TRIGGER IF EXISTS currencies_system_accounts ON currencies;
    DROP FUNCTION IF EXISTS currencies_create_system_accounts();
    DELETE FROM accounts a WHERE kind = 'system' AND system_purpose IN ('fee_revenue', 'spread_revenue', 'fx_position')
      AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.account_id = a.id);
    ALTER TABLE transfers
      DROP CONSTRAINT transfers_priced_before_done,
      DROP CONSTRAINT transfers_quote_used_once,
      DROP CONSTRAINT transfers_given_amount,
      DROP COLUMN priced_at, DROP COLUMN calculated_fees, DROP COLUMN spread_fee, DROP COLUMN fixed_fee,
      DROP COLUMN rate_as_of, DROP COLUMN fx_rate, DROP COLUMN market_rate, DROP COLUMN quote_id,
      DROP COLUMN override_fees, DROP COLUMN client_fx_rate, DROP COLUMN operation_type;
    DROP TABLE fx_quotes;
    DROP TABLE tariff_ranges;
    DROP TABLE tariffs;
    DROP TABLE fx_spreads;
    DROP TABLE fx_rates;
  `);
}
