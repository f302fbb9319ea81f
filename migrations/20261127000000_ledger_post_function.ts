import type { Knex } from 'knex';

/**
 * Posting a ledger transaction in one statement: `ledger_post_transaction(jsonb)` does, in one
 * round trip, what src/ledger/service.ts's postTransaction did in ten: the idempotency key (a repeat
 * returns the first posting), the hold it consumes, the accounts locked in id order (concurrent
 * postings cannot deadlock) and checked, the stored balances and the entries with their running
 * balances. The constraints stay where they were: the no-overdraft CHECK on accounts and the
 * deferred balanced-per-currency trigger are the backstops.
 *
 * A business refusal (an account missing, not active, in another currency, or without the funds)
 * is returned, not raised, with nothing written: the caller's transaction stays usable, so a
 * workflow step can record the refusal in the same commit. Programming errors (a hold that is
 * missing or already resolved, a key reused for another request) raise SQLSTATEs of class LG.
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

    -- A posting as the function returns it: the transaction's columns and one entry's per row, or
    -- one row with only a refusal.
    CREATE TYPE ledger_posting AS (
      replayed boolean, refusal text, refusal_message text,
      transaction_id uuid, idempotency_key text, kind text, transfer_id uuid, reference text,
      transaction_description text, request_hash text, transaction_created_at timestamptz,
      entry_id uuid, seq bigint, account_id uuid, currency char(3), amount numeric, balance_after numeric,
      entry_description text, entry_created_at timestamptz);

    -- The first posting made with a key, as ledger_posting rows.
    CREATE FUNCTION ledger_replay(p_tx ledger_transactions) RETURNS SETOF ledger_posting LANGUAGE sql STABLE AS $$
      SELECT true, NULL::text, NULL::text, (p_tx).id, (p_tx).idempotency_key, (p_tx).kind, (p_tx).transfer_id, (p_tx).reference,
             (p_tx).description, (p_tx).request_hash, (p_tx).created_at,
             e.id, e.seq, e.account_id, e.currency, e.amount, e.balance_after, e.description, e.created_at
      FROM ledger_entries e WHERE e.transaction_id = (p_tx).id ORDER BY e.seq
    $$;

    CREATE FUNCTION ledger_post_transaction(p jsonb) RETURNS SETOF ledger_posting LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    DECLARE
      v_key text := p->>'idempotency_key';
      v_tx ledger_transactions;
      v_hold holds;
      v_bad record;
      v_allow_inactive boolean := coalesce((p->>'allow_inactive')::boolean, false);
    BEGIN
      -- Locks first, the hold this posting consumes, then every account it touches in id order, so
      -- concurrent postings cannot deadlock and a concurrent repeat waits here for the first.
      IF p->>'settle_hold_id' IS NOT NULL THEN
        SELECT * INTO v_hold FROM holds h WHERE h.id = (p->>'settle_hold_id')::uuid FOR NO KEY UPDATE;
      END IF;
      PERFORM 1 FROM accounts a WHERE a.id IN (SELECT l.account_id FROM ledger_request_legs(p) l) ORDER BY a.id FOR NO KEY UPDATE;

      -- A repeat returns the first posting (unless the request differs).
      SELECT * INTO v_tx FROM ledger_transactions t WHERE t.idempotency_key = v_key;
      IF v_tx.id IS NOT NULL THEN
        IF p->>'request_hash' IS NOT NULL AND v_tx.request_hash IS DISTINCT FROM p->>'request_hash' THEN
          RAISE EXCEPTION 'Idempotency key was used with a different request' USING ERRCODE = 'LG001';
        END IF;
        RETURN QUERY SELECT * FROM ledger_replay(v_tx);
        RETURN;
      END IF;
      IF p->>'settle_hold_id' IS NOT NULL AND v_hold.id IS NULL THEN
        RAISE EXCEPTION 'Hold % not found', p->>'settle_hold_id' USING ERRCODE = 'LG002';
      ELSIF v_hold.id IS NOT NULL AND v_hold.status <> 'pending' THEN
        RAISE EXCEPTION 'Hold % is %', v_hold.id, v_hold.status USING ERRCODE = 'LG003';
      END IF;

      -- Each account exists, is active (reversals excepted), holds its legs' currency, and does not
      -- go below zero, posted or available, unless it may.
      SELECT d.account_id, a.id AS found, a.status, d.currency_ok INTO v_bad
        FROM (SELECT l.account_id, bool_and(l.currency = a2.currency) AS currency_ok, sum(l.amount) AS total, min(l.ord) AS ord
                FROM ledger_request_legs(p) l LEFT JOIN accounts a2 ON a2.id = l.account_id GROUP BY l.account_id) d
        LEFT JOIN accounts a ON a.id = d.account_id
       WHERE a.id IS NULL OR (a.status <> 'active' AND NOT v_allow_inactive) OR NOT d.currency_ok
          OR (NOT a.allow_negative AND (a.posted + d.total < 0
              OR a.posted + d.total - (a.pending - CASE WHEN a.id = v_hold.account_id THEN v_hold.amount ELSE 0 END) < 0))
       ORDER BY d.ord LIMIT 1;
      IF v_bad.account_id IS NOT NULL THEN
        RETURN QUERY SELECT false,
          CASE WHEN v_bad.found IS NULL THEN 'account_not_found'
               WHEN v_bad.status <> 'active' AND NOT v_allow_inactive THEN 'account_not_active'
               WHEN NOT v_bad.currency_ok THEN 'currency_mismatch'
               ELSE 'insufficient_funds' END,
          CASE WHEN v_bad.found IS NULL THEN format('Account %s not found', v_bad.account_id)
               WHEN v_bad.status <> 'active' AND NOT v_allow_inactive THEN format('Account %s is %s', v_bad.account_id, v_bad.status)
               WHEN NOT v_bad.currency_ok THEN format('Account %s does not hold the currency of its legs', v_bad.account_id)
               ELSE 'The available balance does not cover the amount' END,
          NULL::uuid, NULL::text, NULL::text, NULL::uuid, NULL::text, NULL::text, NULL::text, NULL::timestamptz,
          NULL::uuid, NULL::bigint, NULL::uuid, NULL::char(3), NULL::numeric, NULL::numeric, NULL::text, NULL::timestamptz;
        RETURN;
      END IF;
      IF v_hold.id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ledger_request_legs(p) l WHERE l.account_id = v_hold.account_id) THEN
        RAISE EXCEPTION 'Hold % is on an account this posting does not touch', v_hold.id USING ERRCODE = 'LG003';
      END IF;

      -- The key, claimed (the UNIQUE constraint is the backstop behind the locks above).
      INSERT INTO ledger_transactions (id, idempotency_key, kind, transfer_id, reference, description, request_hash)
      VALUES ((p->>'id')::uuid, v_key, p->>'kind', (p->>'transfer_id')::uuid, p->>'reference', p->>'description', p->>'request_hash')
      ON CONFLICT ON CONSTRAINT ledger_transactions_idempotency_key_uq DO NOTHING
      RETURNING * INTO v_tx;
      IF v_tx.id IS NULL THEN
        SELECT * INTO v_tx FROM ledger_transactions t WHERE t.idempotency_key = v_key;
        RETURN QUERY SELECT * FROM ledger_replay(v_tx);
        RETURN;
      END IF;
      IF v_hold.id IS NOT NULL THEN
        UPDATE holds SET status = 'posted', resolved_at = now() WHERE id = v_hold.id;
      END IF;

      -- Stored balances, and the entries with their running balances.
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
        SELECT false, NULL::text, NULL::text, v_tx.id, v_tx.idempotency_key, v_tx.kind, v_tx.transfer_id, v_tx.reference, v_tx.description, v_tx.request_hash, v_tx.created_at,
               i.id, i.seq, i.account_id, i.currency, i.amount, i.balance_after, i.description, i.created_at
        FROM inserted i ORDER BY i.seq;
    END $$;

    -- The recovery sweep's question, "which open transfers has no workflow touched yet?", answered by an index.
    CREATE INDEX transfers_unprepared_idx ON transfers (created_at) WHERE status = 'processing' AND hold_id IS NULL AND ledger_transaction_id IS NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS transfers_unprepared_idx;
    DROP FUNCTION IF EXISTS ledger_post_transaction(jsonb);
    DROP FUNCTION IF EXISTS ledger_replay(ledger_transactions);
    DROP TYPE IF EXISTS ledger_posting;
    DROP FUNCTION IF EXISTS ledger_request_legs(jsonb);
  `);
}
