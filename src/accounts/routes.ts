import { Router } from 'express';
import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { ApiError, ApiErrorCode } from '../api/errors';
import { idempotencyKeyOf, requestHash } from '../api/idempotency';
import { encodeCursor, PageQuery, resolveCursor } from '../api/pagination';
import { AmountString, CurrencyCode, parseAmountField, parseInput, pathId, Reference, Uuid } from '../api/validation';
import { principalOf, requireRole } from '../auth/middleware';
import { isLedgerError, LedgerErrorCode } from '../ledger/errors';
import { presentAccount, presentEntry } from '../ledger/presenters';
import type { LedgerService } from '../ledger/service';
import { trialBalance } from '../ledger/trial-balance';
import type { Db } from '../db/knex';
import { formatAmount } from '../money/money';
import type { AccountService } from './service';

export const CreateAccount = z.strictObject({ customer_id: Uuid, currency: CurrencyCode });
export const CreateDeposit = z.strictObject({ amount: AmountString, reference: Reference });
export const EntriesQuery = z.strictObject(PageQuery);
/** Entry sequence numbers are Postgres bigints. */
const MAX_BIGINT = 2n ** 63n - 1n;

export function accountRoutes(deps: { db: Db; accounts: AccountService; ledger: LedgerService }): Router {
  const { accounts, ledger } = deps;
  const router = Router();

  router.post('/accounts', requireRole('admin', 'client'), async (req, res) => {
    const input = parseInput(CreateAccount, req.body);
    const account = await accounts.create(principalOf(req), input);
    res.status(201).location(`/v1/accounts/${account.id}`).json(presentAccount(account));
  });

  router.get('/accounts/:id', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    res.json(presentAccount(await accounts.mustGetVisible(principalOf(req), pathId(req.params.id))));
  });

  router.get('/accounts/:id/entries', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const account = await accounts.mustGetVisible(principalOf(req), pathId(req.params.id));
    const query = parseInput(EntriesQuery, req.query);
    const before = await resolveCursor(
      query.cursor,
      z.object({ seq: z.string().regex(/^\d{1,19}$/).refine((s) => BigInt(s) <= MAX_BIGINT) }),
      // An entry of this very account (which the caller may see: checked above).
      (key) => deps.db('ledger_entries').where({ account_id: account.id, seq: key.seq }).first('id'),
    );
    const page = await ledger.listEntries(account.id, { limit: query.limit, before: before?.seq });
    res.json({
      data: page.entries.map((e) => presentEntry(e, account.minor_units)),
      next_cursor: page.nextCursor ? encodeCursor({ seq: page.nextCursor }) : null,
    });
  });

  /** Debits, credits and net per currency, with every account's balance: the books at a glance. */
  router.get('/ledger/trial-balance', requireRole('admin', 'compliance'), async (_req, res) => {
    res.json({ data: await trialBalance(deps.db) });
  });

  /** Money in from outside: the currency's funding account pays the customer account. */
  router.post('/accounts/:id/deposits', requireRole('admin'), async (req, res) => {
    const account = await accounts.mustGetVisible(principalOf(req), pathId(req.params.id));
    const input = parseInput(CreateDeposit, req.body);
    const amount = parseAmountField(input.amount, account.minor_units, '#/amount');
    const key = idempotencyKeyOf(req, false);
    try {
      const posted = await ledger.deposit({
        accountId: account.id,
        amount: amount.toString(),
        reference: input.reference,
        idempotencyKey: key ? `deposit:${account.id}:${key}` : `deposit:${randomUUID()}`,
        requestHash: requestHash(input),
      });
      const entry = posted.entries.find((e) => e.account_id === account.id);
      res.status(201).json({
        id: posted.id,
        account_id: account.id,
        amount: { amount: formatAmount(amount, account.minor_units), currency: account.currency },
        reference: posted.reference,
        entry: entry ? presentEntry(entry, account.minor_units) : null,
        created_at: posted.created_at,
      });
    } catch (err) {
      if (isLedgerError(err, LedgerErrorCode.IdempotencyConflict)) {
        throw ApiError.of(ApiErrorCode.IdempotencyKeyReused, 'This Idempotency-Key was used with a different request.', 'header/Idempotency-Key');
      }
      if (isLedgerError(err, LedgerErrorCode.AccountNotActive)) {
        throw ApiError.of(ApiErrorCode.AccountNotActive, err.message, null);
      }
      throw err;
    }
  });

  return router;
}
