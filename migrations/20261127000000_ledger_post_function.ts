import type { Knex } from 'knex';

/**
 * Posting a ledger transaction in one statement: `ledger_post_transaction(jsonb)` does, in one
 * round trip, what src/ledger/service.ts's postTransaction did in ten: the idempotency key (a repeat
 * returns the first posting), the hold it consumes, the accounts locked in id order (concurrent
 * postings cannot deadlock) and checked (exists, active unless a reversal, same currency), the
 * stored balances and the entries with their running balances. The constraints stay where they
 * were: the no-overdraft CHECK on accounts and the deferred balanced-per-currency trigger.
 *
 * Refusals carry SQLSTATEs of class LG, mapped to LedgerErrorCode by the ledger service.
 * Every numeric leaves as numeric (read as a string by pg), never through JSON.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    -- The legs of a posting request, in the order given.
    CREATE FUNCTION ledger_request_legs(p jsonb)
    RETURNS TABLE (ord bigint, account_id uuid, currency char(3), amount numeric, description text)
    LANGUAGE sql IMMUTABLE AS $$
      SELECT l.ord, (l.leg->>'account_id')::uuid, (l.leg->>'currency')::char(3), (l.leg->>'amount')::numeric, l.leg->>'description'
      FROM jsonb_array_elements(p->'legs') WITH ORDINALITY AS l(leg, ord)
    $$;

    CREATE FUNCTION ledger_post_transaction(p jsonb)
    RETURNS TABLE (
      replayed boolean, transaction_id uuid, idempotency_key text, kind text, transfer_id uuid, reference text,
      transaction_description text, request_hash text, transaction_created_at timestamptz,
      entry_id uuid, seq bigint, account_id uuid, currency char(3), amount numeric, balance_after numeric,
      entry_description text, entry_created_at timestamptz)
    LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    DECLARE
      v_tx ledger_transactions;
      v_hold holds;
      v_bad record;
      v_allow_inactive boolean := coalesce((p->>'allow_inactive')::boolean, false);
    BEGIN
      -- The idempotency key: a concurrent duplicate waits here for the first to commit, then replays it.
      INSERT INTO ledger_transactions (id, idempotency_key, kind, transfer_id, reference, description, request_hash)
      VALUES ((p->>'id')::uuid, p->>'idempotency_key', p->>'kind', (p->>'transfer_id')::uuid, p->>'reference', p->>'description', p->>'request_hash')
      ON CONFLICT ON CONSTRAINT ledger_transactions_idempotency_key_uq DO NOTHING
      RETURNING * INTO v_tx;

      IF v_tx.id IS NULL THEN
        SELECT * INTO v_tx FROM ledger_transactions t WHERE t.idempotency_key = p->>'idempotency_key';
        IF p->>'request_hash' IS NOT NULL AND v_tx.request_hash IS DISTINCT FROM p->>'request_hash' THEN
          RAISE EXCEPTION 'Idempotency key was used with a different request' USING ERRCODE = 'LG001';
        END IF;
        RETURN QUERY
          SELECT true, v_tx.id, v_tx.idempotency_key, v_tx.kind, v_tx.transfer_id, v_tx.reference, v_tx.description, v_tx.request_hash, v_tx.created_at,
                 e.id, e.seq, e.account_id, e.currency, e.amount, e.balance_after, e.description, e.created_at
          FROM ledger_entries e WHERE e.transaction_id = v_tx.id ORDER BY e.seq;
        RETURN;
      END IF;

      -- The hold this posting consumes leaves its account's pending.
      IF p->>'settle_hold_id' IS NOT NULL THEN
        UPDATE holds h SET status = 'posted', resolved_at = now()
        WHERE h.id = (p->>'settle_hold_id')::uuid AND h.status = 'pending'
        RETURNING * INTO v_hold;
        IF v_hold.id IS NULL THEN
          SELECT * INTO v_hold FROM holds h WHERE h.id = (p->>'settle_hold_id')::uuid;
          IF v_hold.id IS NULL THEN
            RAISE EXCEPTION 'Hold % not found', p->>'settle_hold_id' USING ERRCODE = 'LG002';
          END IF;
          RAISE EXCEPTION 'Hold % is %', v_hold.id, v_hold.status USING ERRCODE = 'LG003';
        END IF;
      END IF;

      -- Every account the posting touches, locked in id order.
      PERFORM 1 FROM accounts a WHERE a.id IN (SELECT l.account_id FROM ledger_request_legs(p) l) ORDER BY a.id FOR NO KEY UPDATE;
      SELECT l.account_id AS leg_account, l.currency AS leg_currency, a.id AS found, a.status, a.currency AS account_currency INTO v_bad
      FROM ledger_request_legs(p) l LEFT JOIN accounts a ON a.id = l.account_id
      WHERE a.id IS NULL OR (a.status <> 'active' AND NOT v_allow_inactive) OR a.currency <> l.currency
      ORDER BY l.ord LIMIT 1;
      IF v_bad.leg_account IS NOT NULL THEN
        IF v_bad.found IS NULL THEN
          RAISE EXCEPTION 'Account % not found', v_bad.leg_account USING ERRCODE = 'LG004';
        ELSIF v_bad.status <> 'active' AND NOT v_allow_inactive THEN
          RAISE EXCEPTION 'Account % is %', v_bad.leg_account, v_bad.status USING ERRCODE = 'LG005';
        END IF;
        RAISE EXCEPTION 'Account % holds %, not %', v_bad.leg_account, v_bad.account_currency, v_bad.leg_currency USING ERRCODE = 'LG006';
      END IF;
      IF v_hold.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger_request_legs(p) l WHERE l.account_id = v_hold.account_id) THEN
        RAISE EXCEPTION 'Hold % is on an account this posting does not touch', v_hold.id USING ERRCODE = 'LG003';
      END IF;

      -- Stored balances and entries with running balances; the no-overdraft CHECK is the last word.
      RETURN QUERY
        WITH legs AS (SELECT * FROM ledger_request_legs(p)),
        moved AS (
          UPDATE accounts a
             SET posted = a.posted + d.total,
                 pending = a.pending - CASE WHEN a.id = v_hold.account_id THEN v_hold.amount ELSE 0 END,
                 updated_at = now()
            FROM (SELECT l.account_id, sum(l.amount) AS total FROM legs l GROUP BY l.account_id) d
           WHERE a.id = d.account_id
          RETURNING a.id, a.posted - d.total AS posted_before
        ),
        inserted AS (
          INSERT INTO ledger_entries (id, transaction_id, account_id, currency, amount, balance_after, description)
          SELECT gen_random_uuid(), v_tx.id, l.account_id, l.currency, l.amount,
                 m.posted_before + sum(l.amount) OVER (PARTITION BY l.account_id ORDER BY l.ord),
                 coalesce(l.description, p->>'description')
          FROM legs l JOIN moved m ON m.id = l.account_id
          ORDER BY l.ord
          RETURNING *
        )
        SELECT false, v_tx.id, v_tx.idempotency_key, v_tx.kind, v_tx.transfer_id, v_tx.reference, v_tx.description, v_tx.request_hash, v_tx.created_at,
               i.id, i.seq, i.account_id, i.currency, i.amount, i.balance_after, i.description, i.created_at
        FROM inserted i ORDER BY i.seq;
    END $$;

    -- The recovery sweep's question, "which open transfers has no workflow touched yet?", answered by an index.
    CREATE INDEX transfers_unprepared_idx ON transfers (created_at) WHERE status = 'processing' AND hold_id IS NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS transfers_unprepared_idx;
    DROP FUNCTION IF EXISTS ledger_post_transaction(jsonb);
    DROP FUNCTION IF EXISTS ledger_request_legs(jsonb);
  `);
}
