import { randomUUID } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import { principalOf, requireRole } from '../auth/middleware';
import type { Principal } from '../auth/service';
import { ApiError, HttpErrorCode } from '../http/errors';
import { idempotencyKeyOf, requestHash } from '../http/idempotency';
import { body, Decimal, errors, Id, idempotencyHeader, json, list, LocationHeader, op, page, pathIds, roles, Timestamp, V1, BODY, type Assert, type Documents, type OpenApiPaths } from '../http/openapi';
import { encodeCursor, PageQuery, resolveCursor } from '../http/pagination';
import { AmountString, CurrencyCode, parseInput, pathId, Reference, Uuid } from '../http/validation';
import type { AccountWithCurrency } from '../ledger/model';
import { presentAccount, presentEntry } from '../ledger/presenters';
import type { LedgerService } from '../ledger/service';
import type { TrialBalance } from '../ledger/trial-balance';
import { formatAmount, requireAmount } from '../money/money';
import type { AccountService } from './service';

export const CreateAccount = z.strictObject({ customer_id: Uuid, currency: CurrencyCode });
export const CreateDeposit = z.strictObject({ amount: AmountString, reference: Reference });
export const EntriesQuery = z.strictObject(PageQuery);
/** Entry sequence numbers are Postgres bigints. */
const MAX_BIGINT = 2n ** 63n - 1n;
const EntryCursor = z.object({ seq: z.string().regex(/^\d{1,19}$/).refine((s) => BigInt(s) <= MAX_BIGINT) });

/** The account at a path id, if the caller may see it; 404 otherwise (another customer's account is "not found", never "forbidden"). */
export async function visibleAccountOr404(accounts: AccountService, principal: Principal, id: string): Promise<AccountWithCurrency> {
  const account = await accounts.getVisible(principal, id);
  if (!account) throw ApiError.of(HttpErrorCode.NotFound, 'No account with this id.');
  return account;
}

export function accountRoutes(deps: { accounts: AccountService; ledger: LedgerService }): Router {
  const { accounts, ledger } = deps;
  const router = Router();
  const visible = (req: Request) => visibleAccountOr404(accounts, principalOf(req), pathId(req.params.id));

  router.post('/accounts', requireRole('admin', 'client'), async (req, res) => {
    const input = parseInput(CreateAccount, req.body);
    const account = await accounts.create(principalOf(req), input);
    res.status(201).location(`/v1/accounts/${account.id}`).json(presentAccount(account));
  });

  router.get('/accounts/:id', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    res.json(presentAccount(await visible(req)));
  });

  router.get('/accounts/:id/entries', requireRole('admin', 'compliance', 'client'), async (req, res) => {
    const account = await visible(req);
    const query = parseInput(EntriesQuery, req.query);
    // The cursor names an entry of this very account (which the caller may see: checked above).
    const before = await resolveCursor(query.cursor, EntryCursor, (key) => ledger.hasEntry(account.id, key.seq));
    const page = await ledger.listEntries(account.id, { limit: query.limit, before: before?.seq });
    res.json({
      data: page.entries.map((e) => presentEntry(e, account.minor_units)),
      next_cursor: page.nextCursor ? encodeCursor({ seq: page.nextCursor }) : null,
    });
  });

  /** Debits, credits and net per currency, with every account's balance: the books at a glance. */
  router.get('/ledger/trial-balance', requireRole('admin', 'compliance'), async (_req, res) => {
    res.json({ data: await ledger.trialBalance() });
  });

  /** Money in from outside: the currency's funding account pays the customer account. */
  router.post('/accounts/:id/deposits', requireRole('admin'), async (req, res) => {
    const account = await visible(req);
    const input = parseInput(CreateDeposit, req.body);
    const amount = requireAmount(input.amount, account.minor_units, '#/amount');
    const key = idempotencyKeyOf(req, false);
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
  });

  return router;
}

export const Entry = z
  .object({
    id: Id,
    account_id: Id,
    transaction_id: Id,
    type: z.enum(['debit', 'credit']),
    amount: Decimal.meta({ description: 'Unsigned; `type` gives the direction' }),
    currency: z.string(),
    balance: Decimal.meta({ description: "The account's posted balance after this entry" }),
    description: z.string().nullable(),
    created_at: Timestamp,
  })
  .meta({ id: 'Entry' });
type _EntryDocumented = Assert<Documents<typeof Entry, ReturnType<typeof presentEntry>>>;

export const Account = z
  .object({
    id: Id,
    customer_id: Id.nullable().meta({ description: 'Null for system accounts' }),
    currency: z.string(),
    kind: z.string().meta({ description: '`customer` for accounts created here; system accounts have other kinds' }),
    status: z.string().meta({ example: 'active' }),
    balances: z.object({
      posted: Decimal,
      pending: Decimal.meta({ description: 'Reserved by held transfers and payouts' }),
      available: Decimal.meta({ description: 'posted - pending' }),
    }),
    created_at: Timestamp,
  })
  .meta({ id: 'Account' });
type _AccountDocumented = Assert<Documents<typeof Account, ReturnType<typeof presentAccount>>>;

export const TrialBalanceSchema = z
  .object({
    currency: z.string(),
    debits: Decimal,
    credits: Decimal,
    net: Decimal,
    customer_accounts: Decimal.meta({ description: 'What the bank owes its customers in this currency' }),
    system_accounts: z.array(z.object({ account_id: Id, system_purpose: z.string(), balance: Decimal })),
  })
  .meta({ id: 'TrialBalance' });
type _TrialBalanceDocumented = Assert<Documents<typeof TrialBalanceSchema, TrialBalance>>;

const Deposit = z.object({ id: Id, account_id: Id, amount: z.object({ amount: Decimal, currency: z.string() }), reference: z.string(), entry: Entry.nullable(), created_at: Timestamp });

export const accountPaths: OpenApiPaths = {
  '/v1/accounts': {
    post: op('Accounts', 'createAccount', 'Open an account', {
      description: roles('admin', 'client'),
      requestBody: body(CreateAccount),
      responses: { '201': json('The account', Account, LocationHeader), ...errors(...V1, ...BODY, 403) },
    }),
  },
  '/v1/accounts/{id}': {
    get: op('Accounts', 'getAccount', 'Get an account with its balances', {
      description: roles('admin', 'compliance', 'client'),
      requestParams: { path: pathIds('id') },
      responses: { '200': json('The account', Account), ...errors(...V1, 403, 404) },
    }),
  },
  '/v1/accounts/{id}/entries': {
    get: op('Accounts', 'listEntries', "List an account's ledger entries", {
      description: `${roles('admin', 'compliance', 'client')} Newest first.`,
      requestParams: { path: pathIds('id'), query: EntriesQuery },
      responses: { '200': json('A page of entries', page(Entry)), ...errors(...V1, 403, 404, 422) },
    }),
  },
  '/v1/accounts/{id}/deposits': {
    post: op('Accounts', 'createDeposit', 'Deposit money from outside', {
      description: `${roles('admin')} The currency's funding account pays the account. Optional Idempotency-Key.`,
      requestParams: { path: pathIds('id'), header: idempotencyHeader(false) },
      requestBody: body(CreateDeposit),
      responses: { '201': json('The posted deposit', Deposit), ...errors(...V1, ...BODY, 403, 404) },
    }),
  },
  '/v1/ledger/trial-balance': {
    get: op('Accounts', 'trialBalance', 'Trial balance', {
      description: `${roles('admin', 'compliance')} Debits, credits and net per currency.`,
      responses: { '200': json('One line per currency', list(TrialBalanceSchema)), ...errors(...V1, 403) },
    }),
  },
};
