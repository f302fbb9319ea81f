import type { Knex } from 'knex';

/**
 * Compliance: screening rules as data, a watch list, every screening decision with its rule hits
 * and versions, held transfers waiting for a human decision, and an append-only audit log.
 */
export async function up(knex: Knex): Promise<void> {
  await createRulesAndWatchlist(knex);
  await createScreeningsAndDecisions(knex);
  await createAuditLog(knex);
  await allowHeldTransfers(knex);
  await seedComplianceRules(knex);
}

async function createRulesAndWatchlist(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE TABLE compliance_rules (
      id         uuid PRIMARY KEY,
      kind       text NOT NULL CHECK (kind IN ('amount_threshold', 'watchlist', 'blocked_country', 'velocity', 'account_status')),
      name       text NOT NULL,
      params     jsonb NOT NULL DEFAULT '{}'::jsonb,
      enabled    boolean NOT NULL DEFAULT true,
      -- bumped on every change; a screening records the versions it used
      version    integer NOT NULL DEFAULT 1,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE watchlist_entries (
      id              uuid PRIMARY KEY,
      list            text NOT NULL,
      name            text NOT NULL,
      normalized_name text NOT NULL,
      entity_type     text,
      program         text,
      external_id     text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT watchlist_entries_list_external_id_uq UNIQUE (list, external_id)
    );
  `);
}

async function createScreeningsAndDecisions(knex: Knex): Promise<void> {
  await knex.raw(`
    -- One screening per subject: a retried screening activity returns the first decision.
    CREATE TABLE compliance_screenings (
      id            uuid PRIMARY KEY,
      subject_type  text NOT NULL CHECK (subject_type IN ('transfer', 'payout')),
      subject_id    uuid NOT NULL,
      outcome       text NOT NULL CHECK (outcome IN ('approve', 'hold', 'decline')),
      hits          jsonb NOT NULL DEFAULT '[]'::jsonb,
      rule_versions jsonb NOT NULL DEFAULT '{}'::jsonb,
      screened_at   timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT compliance_screenings_subject_uq UNIQUE (subject_type, subject_id)
    );

    -- The one decision on a held subject; a second one cannot be recorded.
    CREATE TABLE compliance_decisions (
      id              uuid PRIMARY KEY,
      subject_type    text NOT NULL CHECK (subject_type IN ('transfer', 'payout')),
      subject_id      uuid NOT NULL,
      decision        text NOT NULL CHECK (decision IN ('release', 'reject', 'expire')),
      reviewer        text NOT NULL,
      reviewer_key_id uuid REFERENCES api_keys(id),
      reason          text NOT NULL,
      decided_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT compliance_decisions_subject_uq UNIQUE (subject_type, subject_id)
    );
  `);
}

async function createAuditLog(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Every human decision: who, what, when, why, from where. Never updated or deleted.
    CREATE TABLE audit_log (
      id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      actor        text NOT NULL,
      actor_key_id uuid REFERENCES api_keys(id),
      actor_role   text,
      action       text NOT NULL,
      subject_type text NOT NULL,
      subject_id   uuid NOT NULL,
      reason       text,
      outcome      text NOT NULL,
      request_id   text,
      remote_addr  text,
      user_agent   text,
      at           timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX audit_log_subject_idx ON audit_log (subject_type, subject_id);
    CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
      FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
  `);
}

async function allowHeldTransfers(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE transfers DROP CONSTRAINT transfers_status_check;
    ALTER TABLE transfers DROP CONSTRAINT transfers_check;
    ALTER TABLE transfers
      ADD CONSTRAINT transfers_status_check CHECK (status IN ('processing', 'held', 'completed', 'declined', 'failed')),
      ADD CONSTRAINT transfers_open_until_completed CHECK ((status IN ('processing', 'held')) = (completed_at IS NULL)),
      ADD COLUMN screening_id    uuid REFERENCES compliance_screenings(id),
      ADD COLUMN held_at         timestamptz,
      ADD COLUMN hold_expires_at timestamptz;
    CREATE INDEX transfers_held_idx ON transfers (held_at) WHERE status = 'held';
  `);
}

async function seedComplianceRules(knex: Knex): Promise<void> {
  await knex.raw(`
    -- Sensible starting rules; admins change them through /v1/compliance/rules.
    INSERT INTO compliance_rules (id, kind, name, params) VALUES
      (gen_random_uuid(), 'amount_threshold', 'Large amount review', '{"currency": "USD", "amount": "10000"}'),
      (gen_random_uuid(), 'watchlist', 'Sanctions and PEP names', '{"strong": "0.92", "weak": "0.80"}'),
      (gen_random_uuid(), 'blocked_country', 'Comprehensively sanctioned countries', '{"countries": ["CU", "IR", "KP", "SY"]}'),
      (gen_random_uuid(), 'velocity', 'Source account velocity', '{"window_seconds": 3600, "max_count": 1000, "max_amount": "250000", "currency": "USD"}'),
      (gen_random_uuid(), 'account_status', 'Frozen accounts and suspended holders', '{}');
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    ALTER TABLE transfers
      DROP COLUMN hold_expires_at, DROP COLUMN held_at, DROP COLUMN screening_id,
      DROP CONSTRAINT transfers_open_until_completed, DROP CONSTRAINT transfers_status_check;
    ALTER TABLE transfers
      ADD CONSTRAINT transfers_status_check CHECK (status IN ('processing', 'completed', 'declined', 'failed')),
      ADD CONSTRAINT transfers_check CHECK ((status = 'processing') = (completed_at IS NULL));
    DROP TABLE audit_log;
    DROP TABLE compliance_decisions;
    DROP TABLE compliance_screenings;
    DROP TABLE watchlist_entries;
    DROP TABLE compliance_rules;
  `);
}
