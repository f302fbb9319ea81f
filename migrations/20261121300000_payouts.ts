import type { Knex } from 'knex';

/**
 * Payouts to beneficiaries (seed 001's pay_out). A payout is a transfer whose destination is the
 * payouts-in-transit account of the beneficiary's currency; the rail then settles it (in transit →
 * funding, the money has left the bank) or rejects/returns it (a reversal gives it back).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE beneficiaries (
      id           uuid PRIMARY KEY,
      customer_id  uuid NOT NULL REFERENCES customers(id),
      name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
      country      char(2) NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
      currency     char(3) NOT NULL REFERENCES currencies(code),
      -- {iban} or {account_number, bank_code}, validated by the API
      bank_details jsonb NOT NULL,
      status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
      created_at   timestamptz NOT NULL DEFAULT now(),
      updated_at   timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX beneficiaries_customer_idx ON beneficiaries (customer_id, created_at DESC);

    -- Which key minted a key: maker-checker must also stop an admin approving, through a compliance
    -- key the admin minted, a payment the admin made.
    ALTER TABLE api_keys ADD COLUMN created_by_key_id uuid REFERENCES api_keys(id);

    ALTER TABLE transfers DROP CONSTRAINT transfers_status_check;
    ALTER TABLE transfers DROP CONSTRAINT transfers_open_until_completed;
    ALTER TABLE transfers DROP CONSTRAINT transfers_operation_type_check;
    ALTER TABLE transfers
      ADD COLUMN kind text NOT NULL DEFAULT 'transfer' CHECK (kind IN ('transfer', 'payout')),
      ADD COLUMN beneficiary_id uuid REFERENCES beneficiaries(id),
      ADD COLUMN rail_reference text,
      ADD COLUMN sent_at timestamptz,
      ADD COLUMN settled_at timestamptz,
      ADD COLUMN settlement_transaction_id uuid REFERENCES ledger_transactions(id),
      ADD COLUMN reversal_transaction_id uuid REFERENCES ledger_transactions(id),
      ADD CONSTRAINT transfers_payout_has_beneficiary CHECK ((kind = 'payout') = (beneficiary_id IS NOT NULL)),
      ADD CONSTRAINT transfers_operation_type_check CHECK (operation_type IN ('account_to_account', 'account_to_account_fx', 'payout')),
      -- sent: on the rail, awaiting settlement; returned: settled, then sent back and reversed
      ADD CONSTRAINT transfers_status_check
        CHECK (status IN ('processing', 'held', 'sent', 'completed', 'declined', 'failed', 'returned')),
      ADD CONSTRAINT transfers_open_until_completed CHECK ((status IN ('processing', 'held', 'sent')) = (completed_at IS NULL));
    CREATE INDEX transfers_beneficiary_idx ON transfers (beneficiary_id) WHERE beneficiary_id IS NOT NULL;

    ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
    ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check
      CHECK (kind IN ('deposit', 'transfer', 'payout', 'payout_settlement', 'payout_reversal'));

    INSERT INTO accounts (id, currency, kind, system_purpose, allow_negative)
    SELECT gen_random_uuid(), code, 'system', 'payouts_in_transit', false FROM currencies;

    CREATE OR REPLACE FUNCTION currencies_create_system_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO accounts (id, currency, kind, system_purpose, allow_negative)
      SELECT gen_random_uuid(), NEW.code, 'system', p.purpose, p.purpose IN ('funding', 'fx_position')
      FROM (VALUES ('funding'), ('fee_revenue'), ('spread_revenue'), ('fx_position'), ('payouts_in_transit')) AS p(purpose)
      ON CONFLICT DO NOTHING;
      RETURN NEW;
    END $$;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DELETE FROM accounts a WHERE kind = 'system' AND system_purpose = 'payouts_in_transit'
      AND NOT EXISTS (SELECT 1 FROM ledger_entries e WHERE e.account_id = a.id);
    ALTER TABLE ledger_transactions DROP CONSTRAINT ledger_transactions_kind_check;
    ALTER TABLE ledger_transactions ADD CONSTRAINT ledger_transactions_kind_check CHECK (kind IN ('deposit', 'transfer'));
    ALTER TABLE transfers
      DROP CONSTRAINT transfers_open_until_completed, DROP CONSTRAINT transfers_status_check,
      DROP CONSTRAINT transfers_operation_type_check, DROP CONSTRAINT transfers_payout_has_beneficiary,
      DROP COLUMN reversal_transaction_id, DROP COLUMN settlement_transaction_id, DROP COLUMN settled_at,
      DROP COLUMN sent_at, DROP COLUMN rail_reference, DROP COLUMN beneficiary_id, DROP COLUMN kind;
    ALTER TABLE transfers
      ADD CONSTRAINT transfers_status_check CHECK (status IN ('processing', 'held', 'completed', 'declined', 'failed')),
      ADD CONSTRAINT transfers_open_until_completed CHECK ((status IN ('processing', 'held')) = (completed_at IS NULL)),
      ADD CONSTRAINT transfers_operation_type_check CHECK (operation_type IN ('account_to_account', 'account_to_account_fx'));
    ALTER TABLE api_keys DROP COLUMN created_by_key_id;
    DROP TABLE beneficiaries;
  `);
}
