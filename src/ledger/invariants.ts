import type { Db } from '../db/knex';

export type InvariantViolation = { invariant: string; detail: Record<string, unknown> };

/**
 * The ledger's invariants, checked on one consistent snapshot:
 * - every transaction's entries sum to zero per currency, and so does the whole ledger;
 * - each account's stored `posted` equals the sum of its entries, and `pending` the sum of its pending reservations;
 * - each entry's running balance equals the sum of its account's entries up to it;
 * - no account that may not go negative is below zero, posted or available.
 */
export async function checkLedgerInvariants(db: Db): Promise<InvariantViolation[]> {
  return db.transaction(
    async (trx) => {
      const checks: Array<[string, string]> = [
        [
          'transaction_balanced_per_currency',
          `SELECT transaction_id, currency, sum(amount)::text AS total FROM ledger_entries
           GROUP BY transaction_id, currency HAVING sum(amount) <> 0`,
        ],
        [
          'ledger_balanced_per_currency',
          `SELECT currency, sum(amount)::text AS total FROM ledger_entries GROUP BY currency HAVING sum(amount) <> 0`,
        ],
        [
          'posted_equals_sum_of_entries',
          `SELECT a.id, a.posted::text, coalesce(e.total, 0)::text AS entries_total FROM accounts a
           LEFT JOIN (SELECT account_id, sum(amount) AS total FROM ledger_entries GROUP BY account_id) e ON e.account_id = a.id
           WHERE a.posted <> coalesce(e.total, 0)`,
        ],
        [
          'pending_equals_sum_of_pending_reservations',
          `SELECT a.id, a.pending::text, coalesce(h.total, 0)::text AS holds_total FROM accounts a
           LEFT JOIN (SELECT account_id, sum(amount) AS total FROM holds WHERE status = 'pending' GROUP BY account_id) h
             ON h.account_id = a.id
           WHERE a.pending <> coalesce(h.total, 0)`,
        ],
        [
          'running_balance_matches',
          `SELECT id, account_id, balance_after::text, running::text FROM (
             SELECT id, account_id, balance_after, sum(amount) OVER (PARTITION BY account_id ORDER BY seq) AS running
             FROM ledger_entries) t
           WHERE balance_after <> running`,
        ],
        [
          'entry_currency_matches_account',
          `SELECT e.id, e.currency, a.currency AS account_currency FROM ledger_entries e
           JOIN accounts a ON a.id = e.account_id WHERE e.currency <> a.currency`,
        ],
        [
          'no_overdraft',
          `SELECT id, posted::text, available::text FROM accounts
           WHERE NOT allow_negative AND (posted < 0 OR available < 0)`,
        ],
      ];
      const violations: InvariantViolation[] = [];
      for (const [invariant, sql] of checks) {
        const { rows } = await trx.raw(sql);
        for (const detail of rows as Record<string, unknown>[]) violations.push({ invariant, detail });
      }
      return violations;
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}
