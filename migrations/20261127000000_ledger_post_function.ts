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
    -- A posting as the function returns it: the transaction's columns and one entry's per row, or
    -- one row with only a refusal.
    CREATE TYPE ledger_posting AS (
      replayed boolean, refusal text, refusal_message text,
      transaction_id uuid, idempotency_key text, kind text, transfer_id uuid, reference text,
      transaction_description text, request_hash text, transaction_created_at timestamptz,
      entry_id uuid, seq bigint, account_id uuid, currency char(3), amount numeric, balance_after numeric,
      entry_description text, entry_created_at timestamptz);
  `);
  await knex.raw(POSTING_FUNCTION_SQL);
  await knex.raw(`
    -- The recovery sweep's question, "which open transfers has no workflow touched yet?", answered by an index.
    CREATE INDEX transfers_unprepared_idx ON transfers (created_at) WHERE status = 'processing' AND hold_id IS NULL AND ledger_transaction_id IS NULL;
  `);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    DROP INDEX IF EXISTS transfers_unprepared_idx;
    DROP FUNCTION IF EXISTS ledger_post_transaction(jsonb);
    DROP TYPE IF EXISTS ledger_posting;
  `);
}

const POSTING_FUNCTION_SQL = `
    CREATE FUNCTION ledger_post_transaction(p jsonb) RETURNS SETOF ledger_posting LANGUAGE plpgsql AS $$
    #variable_conflict use_column
    DECLARE
      v_key text := p->>'idempotency_key';
      v_allow_inactive boolean := coalesce((p->>'allow_inactive')::boolean, false);
      v_hold_id uuid := (p->>'settle_hold_id')::uuid;
      -- The legs, in the order given, read once.
      v_accounts uuid[];
      v_currencies char(3)[];
      v_amounts numeric[];
      v_descriptions text[];
      v_tx ledger_transactions;
      v_hold holds;
      v_bad record;
    BEGIN
      SELECT array_agg((l->>'account_id')::uuid ORDER BY o), array_agg((l->>'currency')::char(3) ORDER BY o),
             array_agg((l->>'amount')::numeric ORDER BY o), array_agg(coalesce(l->>'description', p->>'description') ORDER BY o)
        INTO v_accounts, v_currencies, v_amounts, v_descriptions
        FROM jsonb_array_elements(p->'legs') WITH ORDINALITY AS x(l, o);

      -- Locks first, the hold this posting consumes, then every account it touches in id order, so
      -- concurrent postings cannot deadlock and a concurrent repeat waits here for the first.
      IF v_hold_id IS NOT NULL THEN
        SELECT * INTO v_hold FROM holds h WHERE h.id = v_hold_id FOR NO KEY UPDATE;
      END IF;
      PERFORM 1 FROM accounts a WHERE a.id = ANY (v_accounts) ORDER BY a.id FOR NO KEY UPDATE;

      -- A repeat returns the first posting (unless the request differs).
      SELECT * INTO v_tx FROM ledger_transactions t WHERE t.idempotency_key = v_key;
      IF v_tx.id IS NOT NULL THEN
        IF p->>'request_hash' IS NOT NULL AND v_tx.request_hash IS DISTINCT FROM p->>'request_hash' THEN
          RAISE EXCEPTION 'Idempotency key was used with a different request' USING ERRCODE = 'LG001';
        END IF;
        RETURN QUERY
          SELECT true, NULL::text, NULL::text, v_tx.id, v_tx.idempotency_key, v_tx.kind, v_tx.transfer_id, v_tx.reference,
                 v_tx.description, v_tx.request_hash, v_tx.created_at,
                 e.id, e.seq, e.account_id, e.currency, e.amount, e.balance_after, e.description, e.created_at
          FROM ledger_entries e WHERE e.transaction_id = v_tx.id ORDER BY e.seq;
        RETURN;
      END IF;
      IF v_hold_id IS NOT NULL AND v_hold.id IS NULL THEN
        RAISE EXCEPTION 'Hold % not found', v_hold_id USING ERRCODE = 'LG002';
      ELSIF v_hold.id IS NOT NULL AND v_hold.status <> 'pending' THEN
        RAISE EXCEPTION 'Hold % is %', v_hold.id, v_hold.status USING ERRCODE = 'LG003';
      ELSIF v_hold.id IS NOT NULL AND NOT v_hold.account_id = ANY (v_accounts) THEN
        RAISE EXCEPTION 'Hold % is on an account this posting does not touch', v_hold.id USING ERRCODE = 'LG003';
      END IF;

      -- Each account exists, is active (reversals excepted), holds its legs' currency, and does not
      -- go below zero, posted or available, unless it may.
      SELECT d.account_id, a.id AS found, a.status, d.currency_ok INTO v_bad
        FROM (SELECT l.account_id, bool_and(l.currency = a2.currency) AS currency_ok, sum(l.amount) AS total, min(l.ord) AS ord
                FROM unnest(v_accounts, v_currencies, v_amounts) WITH ORDINALITY AS l(account_id, currency, amount, ord)
                LEFT JOIN accounts a2 ON a2.id = l.account_id GROUP BY l.account_id) d
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

      -- The key, claimed (the UNIQUE constraint is the backstop behind the locks above).
      INSERT INTO ledger_transactions (id, idempotency_key, kind, transfer_id, reference, description, request_hash)
      VALUES ((p->>'id')::uuid, v_key, p->>'kind', (p->>'transfer_id')::uuid, p->>'reference', p->>'description', p->>'request_hash')
      RETURNING * INTO v_tx;
      IF v_hold.id IS NOT NULL THEN
        UPDATE holds SET status = 'posted', resolved_at = now() WHERE id = v_hold.id;
      END IF;

      -- Stored balances, and the entries with their running balances.
      RETURN QUERY
        WITH legs AS (SELECT * FROM unnest(v_accounts, v_currencies, v_amounts, v_descriptions) WITH ORDINALITY AS l(account_id, currency, amount, description, ord)),
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
                 m.posted_before + sum(l.amount) OVER (PARTITION BY l.account_id ORDER BY l.ord), l.description
          FROM legs l JOIN moved m ON m.id = l.account_id
          ORDER BY l.ord
          RETURNING *
        )
        SELECT false, NULL::text, NULL::text, v_tx.id, v_tx.idempotency_key, v_tx.kind, v_tx.transfer_id, v_tx.reference, v_tx.description, v_tx.request_hash, v_tx.created_at,
               i.id, i.seq, i.account_id, i.currency, i.amount, i.balance_after, i.description, i.created_at
        FROM inserted i ORDER BY i.seq;
    END $$;
`;
