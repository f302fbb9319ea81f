import type { Knex } from 'knex';

/**
 * The foundation: currencies, customers, accounts with stored balances, an append-only
 * double-entry ledger, holds (reservations), transfers and API keys.
 *
 * Sign convention: an entry's `amount` is signed from the account holder's point of view:
 * positive = credit (balance goes up), negative = debit. Every ledger transaction's entries
 * sum to zero per currency, enforced at commit by a deferred constraint trigger.
 */
export async function up(knex: Knex): Promise<void> {
  await createCurrencies(knex);
  await createCustomersAndAccounts(knex);
  await createLedgerTables(knex);
  await enforceLedgerInvariants(knex);
  await createHolds(knex);
  await createApiKeys(knex);
  await createTransfers(knex);
}

async function createCurrencies(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE currencies (
      code        char(3) PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
      minor_units smallint NOT NULL CHECK (minor_units BETWEEN 0 AND 4),
      name        text NOT NULL
    );

    INSERT INTO currencies (code, minor_units, name) VALUES
      ('USD', 2, 'US Dollar'),
      ('EUR', 2, 'Euro'),
      ('GBP', 2, 'Pound Sterling'),
      ('JPY', 0, 'Yen'),
      ('COP', 2, 'Colombian Peso'),
      ('MXN', 2, 'Mexican Peso'),
      ('KWD', 3, 'Kuwaiti Dinar'),
      ('BHD', 3, 'Bahraini Dinar');
  `);
}

async function createCustomersAndAccounts(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE customers (
      id         uuid PRIMARY KEY,
      name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      country    char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
      status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'closed')),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE accounts (
      id             uuid PRIMARY KEY,
      customer_id    uuid REFERENCES customers(id),
      currency       char(3) NOT NULL REFERENCES currencies(code),
      kind           text NOT NULL CHECK (kind IN ('customer', 'system')),
      -- what a system account is for, e.g. 'funding' (the omnibus account deposits come from)
      system_purpose text,
      status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'frozen', 'closed')),
      posted         numeric(38, 8) NOT NULL DEFAULT 0,
      pending        numeric(38, 8) NOT NULL DEFAULT 0 CHECK (pending >= 0),
      available      numeric(38, 8) GENERATED ALWAYS AS (posted - pending) STORED,
      -- only system accounts (e.g. funding) may go below zero
      allow_negative boolean NOT NULL DEFAULT false,
      created_at     timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT accounts_no_overdraft CHECK (allow_negative OR (posted >= 0 AND posted - pending >= 0)),
      CONSTRAINT accounts_owner_matches_kind CHECK (
        (kind = 'customer' AND customer_id IS NOT NULL AND system_purpose IS NULL AND NOT allow_negative)
        OR (kind = 'system' AND customer_id IS NULL AND system_purpose IS NOT NULL))
    );
    CREATE INDEX accounts_customer_idx ON accounts (customer_id);
    CREATE UNIQUE INDEX accounts_system_purpose_uq ON accounts (currency, system_purpose) WHERE kind = 'system';

    -- One funding (omnibus) account per currency; deposits move money out of it.
    INSERT INTO accounts (id, currency, kind, system_purpose, allow_negative)
    SELECT gen_random_uuid(), code, 'system', 'funding', true FROM currencies;
  `);
}

async function createLedgerTables(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE ledger_transactions (
      id              uuid PRIMARY KEY,
      -- transfer id + step, or deposit key: a retried posting finds the first one here
      idempotency_key text NOT NULL CONSTRAINT ledger_transactions_idempotency_key_uq UNIQUE,
      kind            text NOT NULL CHECK (kind IN ('deposit', 'transfer')),
      transfer_id     uuid,
      reference       text,
      description     text,
      request_hash    text,
      created_at      timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ledger_transactions_transfer_idx ON ledger_transactions (transfer_id) WHERE transfer_id IS NOT NULL;

    CREATE TABLE ledger_entries (
      id             uuid PRIMARY KEY,
      seq            bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
      transaction_id uuid NOT NULL REFERENCES ledger_transactions(id),
      account_id     uuid NOT NULL REFERENCES accounts(id),
      currency       char(3) NOT NULL REFERENCES currencies(code),
      amount         numeric(38, 8) NOT NULL CHECK (amount <> 0),
      -- the account's posted balance right after this entry (running balance)
      balance_after  numeric(38, 8) NOT NULL,
      description    text,
      created_at     timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX ledger_entries_account_seq_idx ON ledger_entries (account_id, seq DESC);
    CREATE INDEX ledger_entries_transaction_idx ON ledger_entries (transaction_id);
  `);
}

async function enforceLedgerInvariants(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Entries and ledger transactions are facts: corrections are new transactions, never edits.
    CREATE FUNCTION ledger_reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
    END $$;
    CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
      FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
    CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
      FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();

    -- Double entry, checked by the database at commit: a transaction's entries sum to zero per currency.
    CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE unbalanced text;
    BEGIN
      SELECT string_agg(currency || ' ' || total::text, ', ') INTO unbalanced FROM (
        SELECT currency, sum(amount) AS total FROM ledger_entries
        WHERE transaction_id = NEW.transaction_id GROUP BY currency HAVING sum(amount) <> 0) t;
      IF unbalanced IS NOT NULL THEN
        RAISE EXCEPTION 'ledger transaction % does not balance: %', NEW.transaction_id, unbalanced
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
      DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
  `);
}

async function createHolds(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE holds (
      id              uuid PRIMARY KEY,
      idempotency_key text NOT NULL CONSTRAINT holds_idempotency_key_uq UNIQUE,
      account_id      uuid NOT NULL REFERENCES accounts(id),
      currency        char(3) NOT NULL REFERENCES currencies(code),
      amount          numeric(38, 8) NOT NULL CHECK (amount > 0),
      status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'posted', 'voided')),
      transfer_id     uuid,
      created_at      timestamptz NOT NULL DEFAULT now(),
      resolved_at     timestamptz,
      CHECK ((status = 'pending') = (resolved_at IS NULL))
    );
    CREATE INDEX holds_account_pending_idx ON holds (account_id) WHERE status = 'pending';
  `);
}

async function createApiKeys(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE api_keys (
      id          uuid PRIMARY KEY,
      -- SHA-256 of the secret, hex; the secret itself is never stored
      key_hash    char(64) NOT NULL CONSTRAINT api_keys_key_hash_uq UNIQUE,
      prefix      text NOT NULL,
      role        text NOT NULL CHECK (role IN ('admin', 'client', 'compliance')),
      customer_id uuid REFERENCES customers(id),
      label       text,
      created_at  timestamptz NOT NULL DEFAULT now(),
      revoked_at  timestamptz,
      CHECK ((role = 'client') = (customer_id IS NOT NULL))
    );
  `);
}

async function createTransfers(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE transfers (
      id                     uuid PRIMARY KEY,
      ref_id                 text NOT NULL CONSTRAINT transfers_ref_id_uq UNIQUE,
      customer_id            uuid NOT NULL REFERENCES customers(id),
      created_by_key_id      uuid REFERENCES api_keys(id),
      -- idempotency: one transfer per (scope, key); scope is the client's customer or the admin key
      idempotency_scope      text NOT NULL,
      idempotency_key        text NOT NULL,
      request_hash           char(64) NOT NULL,
      source_account_id      uuid NOT NULL REFERENCES accounts(id),
      destination_account_id uuid NOT NULL REFERENCES accounts(id),
      source_amount          numeric(38, 8) NOT NULL CHECK (source_amount > 0),
      source_currency        char(3) NOT NULL REFERENCES currencies(code),
      target_amount          numeric(38, 8) NOT NULL CHECK (target_amount > 0),
      target_currency        char(3) NOT NULL REFERENCES currencies(code),
      reference              text NOT NULL,
      description            text,
      external_id            text,
      metadata               jsonb NOT NULL DEFAULT '{}'::jsonb,
      status                 text NOT NULL DEFAULT 'processing'
                               CHECK (status IN ('processing', 'completed', 'declined', 'failed')),
      response_code          text,
      message                text,
      workflow_id            text NOT NULL,
      hold_id                uuid REFERENCES holds(id),
      ledger_transaction_id  uuid REFERENCES ledger_transactions(id),
      created_at             timestamptz NOT NULL DEFAULT now(),
      updated_at             timestamptz NOT NULL DEFAULT now(),
      completed_at           timestamptz,
      CONSTRAINT transfers_idempotency_uq UNIQUE (idempotency_scope, idempotency_key),
      CONSTRAINT transfers_external_id_uq UNIQUE (customer_id, external_id),
      CHECK ((status = 'processing') = (completed_at IS NULL))
    );
    CREATE INDEX transfers_source_idx ON transfers (source_account_id, created_at DESC, id DESC);
    CREATE INDEX transfers_destination_idx ON transfers (destination_account_id, created_at DESC, id DESC);
    CREATE INDEX transfers_customer_idx ON transfers (customer_id, created_at DESC, id DESC);
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP TABLE IF EXISTS transfers;
    DROP TABLE IF EXISTS api_keys;
    DROP TABLE IF EXISTS holds;
    DROP TABLE IF EXISTS ledger_entries;
    DROP TABLE IF EXISTS ledger_transactions;
    DROP FUNCTION IF EXISTS ledger_check_balanced();
    DROP FUNCTION IF EXISTS ledger_reject_mutation();
    DROP TABLE IF EXISTS accounts;
    DROP TABLE IF EXISTS customers;
    DROP TABLE IF EXISTS currencies;
  `);
}
