/**
 * The transfer workflow end to end on a real Temporal dev server and a real Postgres: a real Worker
 * runs the real activities (optionally wrapped to simulate a crash right after a commit), transfers
 * are created through the real service, and every case checks the workflow's outcome, the transfer
 * row, the balances, the ledger entries and the ledger invariants.
 */
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import {
  Client,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  type WorkflowHandle,
} from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import Decimal from 'decimal.js';
import { createActivities, type TransferActivities } from '../../activities';
import { createAccountService } from '../../src/accounts/service';
import { createAuthService, type Principal } from '../../src/auth/service';
import { createCustomerService } from '../../src/customers/service';
import type { Db } from '../../src/db/knex';
import type { HoldRow, LedgerEntryRow, LedgerTransactionRow } from '../../src/ledger/model';
import type { LedgerService } from '../../src/ledger/service';
import { createWorker } from '../../src/temporal/worker';
import type { TransferRow } from '../../src/transfers/model';
import { createTransferRepository } from '../../src/transfers/repository';
import { createServices } from '../../src/services';
import type { PricingService } from '../../src/pricing/service';
import type { ComplianceService } from '../../src/compliance/service';
import { createTransferService, toWorkflowInput, type CreateTransferInput } from '../../src/transfers/service';
import { createTransferRecovery } from '../../src/transfers/recovery';
import { createTransferWorkflowGateway } from '../../src/transfers/workflow-gateway';
import { transferWorkflow } from '../../workflows/transfer';
import {
  awaitTransferOutcomeUpdate,
  transferStatusQuery,
  TransferStatusSearchAttribute,
  transferWorkflowId,
  type TransferOutcome,
} from '../../workflows/transfer-definitions';
import {
  connectTemporal,
  expectLedgerInvariants,
  openTestDb,
  testLogger,
  testRail,
  testTemporalAddress,
  uniqueTaskQueue,
  workflowBundle,
} from '../support/harness';
import { createHttpRail } from '../../src/rail/client';

type Faults = {
  /** Activities whose FIRST attempt for this transfer runs for real (commits) and then throws. */
  crashAfterCommit: Set<'reserveFunds' | 'postTransfer'>;
  /** Delay before validateTransfer runs, to keep the workflow open for a while. */
  validateDelayMs?: number;
};

type Balances = { posted: string; pending: string; available: string };

let db: Db;
let ledger: LedgerService;
let temporal: { client: Client; close: () => Promise<void> };
let client: Client;
let nativeConnection: NativeConnection;
let worker: Worker;
let workerRun: Promise<void>;
let taskQueue: string;
let admin: Principal;
let transfersService: ReturnType<typeof createTransferService>;
let customers: ReturnType<typeof createCustomerService>;
let pricing: PricingService;
let compliance: ComplianceService;
const HOLD_TTL_SECONDS = 3600;
let accountsService: ReturnType<typeof createAccountService>;

/** Per transfer id: the faults to inject, and every activity attempt seen (name + attempt number). */
const faults = new Map<string, Faults>();
const attempts = new Map<string, Array<{ activity: string; attempt: number }>>();
/** Per transfer id: the source account's state seen at the start of each postTransfer attempt. */
const seenBeforePost = new Map<string, Array<{ pending: string; holds: number }>>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const money = (v: string) => new Decimal(v).toFixed(2);

function wrapActivities(real: TransferActivities): TransferActivities {
  const record = (transferId: string, activity: string) => {
    const attempt = Context.current().info.attempt;
    const list = attempts.get(transferId) ?? [];
    list.push({ activity, attempt });
    attempts.set(transferId, list);
    return attempt;
  };
  const crashing =
    <K extends 'reserveFunds' | 'postTransfer'>(name: K, fn: TransferActivities[K]) =>
    async (ref: { transferId: string }) => {
      const attempt = record(ref.transferId, name);
      const result = await fn(ref);
      if (attempt === 1 && faults.get(ref.transferId)?.crashAfterCommit.has(name)) {
        throw new Error('simulated crash after commit');
      }
      return result;
    };
  return {
    validateTransfer: async (ref) => {
      record(ref.transferId, 'validateTransfer');
      const delay = faults.get(ref.transferId)?.validateDelayMs;
      if (delay) await sleep(delay);
      return real.validateTransfer(ref);
    },
    reserveFunds: crashing('reserveFunds', real.reserveFunds) as TransferActivities['reserveFunds'],
    postTransfer: (async (ref: { transferId: string }) => {
      const t = await db('transfers').where({ id: ref.transferId }).first<TransferRow>();
      const source = await balancesOf(t.source_account_id);
      const holds = await db('holds').where({ transfer_id: ref.transferId }).count<{ count: string }[]>({ count: '*' });
      const seen = seenBeforePost.get(ref.transferId) ?? [];
      seen.push({ pending: source.pending, holds: Number(holds[0]?.count) });
      seenBeforePost.set(ref.transferId, seen);
      return crashing('postTransfer', real.postTransfer)(ref);
    }) as TransferActivities['postTransfer'],
    releaseFunds: async (ref) => {
      record(ref.transferId, 'releaseFunds');
      return real.releaseFunds(ref);
    },
    priceTransfer: async (ref) => {
      record(ref.transferId, 'priceTransfer');
      return real.priceTransfer(ref);
    },
    screenTransfer: async (ref) => {
      record(ref.transferId, 'screenTransfer');
      return real.screenTransfer(ref);
    },
    holdTransfer: async (input) => {
      record(input.transferId, 'holdTransfer');
      return real.holdTransfer(input);
    },
    recordComplianceDecision: async (input) => {
      record(input.transferId, 'recordComplianceDecision');
      return real.recordComplianceDecision(input);
    },
    recordTransferOutcome: async (input) => {
      record(input.transferId, 'recordTransferOutcome');
      return real.recordTransferOutcome(input);
    },
    // Payout steps: never reached by transfers.
    sendPayout: real.sendPayout,
    checkPayoutOnRail: real.checkPayoutOnRail,
    settlePayout: real.settlePayout,
    reversePayout: real.reversePayout,
    recordPayoutReturned: real.recordPayoutReturned,
  };
}

beforeAll(async () => {
  db = openTestDb();
  const services = createServices(db, { fxRateMaxAgeMs: 3_600_000, fxQuoteTtlMs: 60_000 });
  ({ ledger, customers, pricing, compliance } = services);
  accountsService = services.accounts;
  transfersService = services.transfers;
  const key = await createAuthService({ db }).createKey({ role: 'admin', label: 'transfer-workflow test' });
  admin = { keyId: key.id, role: 'admin', customerId: null };

  temporal = await connectTemporal();
  client = temporal.client;
  nativeConnection = await NativeConnection.connect({ address: testTemporalAddress() });
  taskQueue = uniqueTaskQueue('transfer-wf');
  const activityDeps = { db, ledger, transfers: createTransferRepository(db), pricing, compliance, rail: createHttpRail(testRail().url), railCallbackUrl: () => 'http://127.0.0.1:1/rail/events' };
  worker = await createWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    activities: wrapActivities(createActivities(activityDeps)),
    workflowBundle: workflowBundle(),
  });
  workerRun = worker.run();
});

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await workerRun;
  await nativeConnection?.close();
  await temporal?.close();
  await db?.destroy();
});

async function party(opts: { deposit?: string; currency?: string } = {}): Promise<{ customerId: string; accountId: string }> {
  const customer = await customers.create({ name: 'Workflow Test Customer', country: 'GB' });
  const account = await accountsService.create(admin, { customer_id: customer.id, currency: opts.currency ?? 'USD' });
  if (opts.deposit) {
    await ledger.deposit({ accountId: account.id, amount: opts.deposit, reference: 'seed', idempotencyKey: `test-deposit:${account.id}` });
  }
  return { customerId: customer.id, accountId: account.id };
}

async function balancesOf(accountId: string): Promise<Balances> {
  const row = await db('accounts').where({ id: accountId }).first<{ posted: string; pending: string; available: string }>();
  return { posted: money(row.posted), pending: money(row.pending), available: money(row.available) };
}

const expectBalances = async (accountId: string, posted: string, pending: string, available: string) =>
  expect(await balancesOf(accountId)).toEqual({ posted, pending, available });

async function createTransfer(body: Omit<CreateTransferInput, 'reference'> & { reference?: string }): Promise<TransferRow> {
  const { transfer, replayed } = await transfersService.create(admin, `idem-${randomUUID()}`, { reference: 'wf test', ...body });
  expect(replayed).toBe(false);
  expect(transfer.status).toBe('processing');
  return transfer;
}

async function runTransfer(t: TransferRow, f?: Faults): Promise<TransferOutcome> {
  if (f) faults.set(t.id, f);
  return client.workflow.execute(transferWorkflow, {
    workflowId: transferWorkflowId(t.id),
    taskQueue,
    args: [toWorkflowInput(t, HOLD_TTL_SECONDS)],
    workflowExecutionTimeout: '45 seconds',
  });
}

const transferRow = (id: string) => db('transfers').where({ id }).first<TransferRow>();

async function expectTransferRow(t: TransferRow, status: string, responseCode: string, message: string): Promise<TransferRow> {
  const row = await transferRow(t.id);
  expect(row.status).toBe(status);
  expect(row.response_code).toBe(responseCode);
  expect(row.message).toBe(message);
  expect(row.completed_at).toBeInstanceOf(Date);
  expect((row.completed_at as Date).getTime()).toBeGreaterThanOrEqual(row.created_at.getTime());
  return row;
}

const ledgerTransactionsOf = (transferId: string) =>
  db('ledger_transactions').where({ transfer_id: transferId }).select<LedgerTransactionRow[]>('*');
const entriesOf = (transferId: string) =>
  db('ledger_entries')
    .join('ledger_transactions', 'ledger_transactions.id', 'ledger_entries.transaction_id')
    .where('ledger_transactions.transfer_id', transferId)
    .orderBy('ledger_entries.seq', 'asc')
    .select<LedgerEntryRow[]>('ledger_entries.*');
const holdsOf = (transferId: string) => db('holds').where({ transfer_id: transferId }).select<HoldRow[]>('*');
const entriesOnAccount = (accountId: string) => db('ledger_entries').where({ account_id: accountId }).select<LedgerEntryRow[]>('*');

/** Declines leave nothing behind: no hold, no ledger transaction, no entries. */
async function expectNothingMoved(t: TransferRow): Promise<void> {
  expect(await ledgerTransactionsOf(t.id)).toHaveLength(0);
  expect(await entriesOf(t.id)).toHaveLength(0);
  const row = await transferRow(t.id);
  expect(row.ledger_transaction_id).toBeNull();
  const holds = await holdsOf(t.id);
  expect(holds.filter((h) => h.status === 'pending')).toHaveLength(0);
  expect(holds.filter((h) => h.status === 'posted')).toHaveLength(0);
}

/** A completed transfer: exactly one ledger transaction, debit on the source, credit on the destination, hold posted. */
async function expectPostedOnce(t: TransferRow, amount: string): Promise<void> {
  const txs = await ledgerTransactionsOf(t.id);
  expect(txs).toHaveLength(1);
  const tx = txs[0] as LedgerTransactionRow;
  expect(tx.kind).toBe('transfer');
  expect(tx.idempotency_key).toBe(`transfer:${t.id}:post`);
  const entries = await entriesOf(t.id);
  expect(entries).toHaveLength(2);
  expect(entries.map((e) => [e.account_id, money(e.amount), e.currency.trim(), e.transaction_id])).toEqual([
    [t.source_account_id, money(new Decimal(amount).neg().toString()), 'USD', tx.id],
    [t.destination_account_id, money(amount), 'USD', tx.id],
  ]);
  const holds = await holdsOf(t.id);
  expect(holds).toHaveLength(1);
  const hold = holds[0] as HoldRow;
  expect(hold.status).toBe('posted');
  expect(hold.resolved_at).toBeInstanceOf(Date);
  expect(hold.account_id).toBe(t.source_account_id);
  expect(money(hold.amount)).toBe(money(amount));
  const row = await transferRow(t.id);
  expect(row.hold_id).toBe(hold.id);
  expect(row.ledger_transaction_id).toBe(tx.id);
}

describe('transfer workflow (real worker, real Temporal, real Postgres)', () => {
  test('success: completes with response code 1, posts one balanced transaction and consumes the hold', async () => {
    const source = await party({ deposit: '100.00' });
    const destination = await party({ deposit: '5.00' });
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '30.25' });

    const outcome = await runTransfer(t);
    expect(outcome).toEqual({ transferId: t.id, status: 'completed', responseCode: '1', message: 'success' });

    await expectTransferRow(t, 'completed', '1', 'success');
    await expectBalances(source.accountId, '69.75', '0.00', '69.75');
    await expectBalances(destination.accountId, '35.25', '0.00', '35.25');
    await expectPostedOnce(t, '30.25');
    const entries = await entriesOf(t.id);
    expect(entries.map((e) => money(e.balance_after))).toEqual(['69.75', '35.25']);
    // Each account has its deposit plus this transfer's entry, nothing else.
    expect(await entriesOnAccount(source.accountId)).toHaveLength(2);
    expect(await entriesOnAccount(destination.accountId)).toHaveLength(2);

    const handle = client.workflow.getHandle(transferWorkflowId(t.id));
    expect(await handle.query(transferStatusQuery)).toEqual({ transferId: t.id, status: 'completed', step: 'done', outcome });
    const description = await handle.describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(TransferStatusSearchAttribute)).toBe('completed');

    expect(attempts.get(t.id)?.map((a) => a.activity)).toEqual(['validateTransfer', 'priceTransfer', 'screenTransfer', 'reserveFunds', 'postTransfer', 'recordTransferOutcome']);
    await expectLedgerInvariants(db);
  });

  test('insufficient funds: declined with 650, nothing posted, no hold left, balances unchanged', async () => {
    const source = await party({ deposit: '50.00' });
    const destination = await party();
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '50.01' });

    const outcome = await runTransfer(t);
    expect(outcome).toEqual({
      transferId: t.id,
      status: 'declined',
      responseCode: '650',
      message: 'insufficient_funds: The available balance does not cover the amount',
    });

    await expectTransferRow(t, 'declined', '650', outcome.message);
    await expectNothingMoved(t);
    expect(await holdsOf(t.id)).toHaveLength(0); // the refused hold was rolled back with its transaction
    expect((await transferRow(t.id)).hold_id).toBeNull();
    await expectBalances(source.accountId, '50.00', '0.00', '50.00');
    await expectBalances(destination.accountId, '0.00', '0.00', '0.00');
    expect(await entriesOnAccount(destination.accountId)).toHaveLength(0);

    const handle = client.workflow.getHandle(transferWorkflowId(t.id));
    expect(await handle.query(transferStatusQuery)).toMatchObject({ status: 'declined', step: 'done', outcome });
    expect((await handle.describe()).typedSearchAttributes.get(TransferStatusSearchAttribute)).toBe('declined');
    await expectLedgerInvariants(db);
  });

  test('inactive account: a frozen source account is declined with 101, nothing reserved or posted', async () => {
    const source = await party({ deposit: '80.00' });
    const destination = await party({ deposit: '1.00' });
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '10.00' });
    await db('accounts').where({ id: source.accountId }).update({ status: 'frozen' });

    const outcome = await runTransfer(t);
    expect(outcome).toEqual({ transferId: t.id, status: 'declined', responseCode: '101', message: 'declined: The source account is frozen' });

    await expectTransferRow(t, 'declined', '101', 'declined: The source account is frozen');
    await expectNothingMoved(t);
    expect(await holdsOf(t.id)).toHaveLength(0);
    await expectBalances(source.accountId, '80.00', '0.00', '80.00');
    await expectBalances(destination.accountId, '1.00', '0.00', '1.00');
    expect(attempts.get(t.id)?.map((a) => a.activity)).toEqual(['validateTransfer', 'recordTransferOutcome']);
    await expectLedgerInvariants(db);
  });

  test('inactive account: a suspended destination holder is declined with 101, nothing reserved or posted', async () => {
    const source = await party({ deposit: '80.00' });
    const destination = await party();
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, target_amount: '10.00' });
    await customers.setStatus(destination.customerId, 'suspended');

    const outcome = await runTransfer(t);
    // The payer is told the payee cannot receive funds, not why (the payee's state is private).
    const message = 'declined: The destination account cannot receive funds';
    expect(outcome).toEqual({ transferId: t.id, status: 'declined', responseCode: '101', message });

    await expectTransferRow(t, 'declined', '101', message);
    await expectNothingMoved(t);
    expect(await holdsOf(t.id)).toHaveLength(0);
    await expectBalances(source.accountId, '80.00', '0.00', '80.00');
    await expectBalances(destination.accountId, '0.00', '0.00', '0.00');
    await expectLedgerInvariants(db);
  });

  test('source equals destination: declined with 101, nothing reserved or posted', async () => {
    const account = await party({ deposit: '20.00' });
    const t = await createTransfer({ source_account_id: account.accountId, destination_account_id: account.accountId, source_amount: '5.00' });

    const outcome = await runTransfer(t);
    const message = 'declined: Source and destination accounts must differ';
    expect(outcome).toEqual({ transferId: t.id, status: 'declined', responseCode: '101', message });

    await expectTransferRow(t, 'declined', '101', message);
    await expectNothingMoved(t);
    expect(await holdsOf(t.id)).toHaveLength(0);
    await expectBalances(account.accountId, '20.00', '0.00', '20.00');
    expect(await entriesOnAccount(account.accountId)).toHaveLength(1); // the deposit only
    await expectLedgerInvariants(db);
  });

  test('postTransfer retried after a crash after commit posts once and returns the first posting', async () => {
    const source = await party({ deposit: '100.00' });
    const destination = await party();
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '40.10' });

    const outcome = await runTransfer(t, { crashAfterCommit: new Set(['postTransfer']) });
    expect(outcome).toEqual({ transferId: t.id, status: 'completed', responseCode: '1', message: 'success' });

    const posts = attempts.get(t.id)?.filter((a) => a.activity === 'postTransfer');
    expect(posts?.map((a) => a.attempt)).toEqual([1, 2]);
    // The second attempt started after the first one's commit: the hold was already consumed.
    expect(seenBeforePost.get(t.id)).toEqual([
      { pending: '40.10', holds: 1 },
      { pending: '0.00', holds: 1 },
    ]);

    await expectTransferRow(t, 'completed', '1', 'success');
    await expectPostedOnce(t, '40.10');
    await expectBalances(source.accountId, '59.90', '0.00', '59.90');
    await expectBalances(destination.accountId, '40.10', '0.00', '40.10');
    expect(await entriesOnAccount(destination.accountId)).toHaveLength(1);
    await expectLedgerInvariants(db);
  });

  test('reserveFunds retried after a crash after commit reserves once', async () => {
    const source = await party({ deposit: '100.00' });
    const destination = await party();
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '60.00' });

    const outcome = await runTransfer(t, { crashAfterCommit: new Set(['reserveFunds']) });
    expect(outcome).toEqual({ transferId: t.id, status: 'completed', responseCode: '1', message: 'success' });

    const reserves = attempts.get(t.id)?.filter((a) => a.activity === 'reserveFunds');
    expect(reserves?.map((a) => a.attempt)).toEqual([1, 2]);
    // Before posting, the amount was pending exactly once (not 120.00) under a single hold.
    expect(seenBeforePost.get(t.id)).toEqual([{ pending: '60.00', holds: 1 }]);

    await expectTransferRow(t, 'completed', '1', 'success');
    await expectPostedOnce(t, '60.00');
    await expectBalances(source.accountId, '40.00', '0.00', '40.00');
    await expectBalances(destination.accountId, '60.00', '0.00', '60.00');
    await expectLedgerInvariants(db);
  });

  test('awaitTransferOutcome with update-with-start returns the outcome; repeats never start a second run', async () => {
    const source = await party({ deposit: '10.00' });
    const destination = await party();
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '7.50' });
    // Hold the workflow open at its first step so the repeats below meet a running workflow.
    faults.set(t.id, { crashAfterCommit: new Set(), validateDelayMs: 1500 });
    const workflowId = transferWorkflowId(t.id);
    const expected: TransferOutcome = { transferId: t.id, status: 'completed', responseCode: '1', message: 'success' };
    // The API gateway's options: attach to a running workflow (USE_EXISTING) and never restart a closed
    // one (REJECT_DUPLICATE; with the default ALLOW_DUPLICATE a closed id would start a second run).
    const startOperation = () =>
      new WithStartWorkflowOperation(transferWorkflow, {
        workflowId,
        taskQueue,
        args: [toWorkflowInput(t, HOLD_TTL_SECONDS)],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    const updateWithStart = (op: WithStartWorkflowOperation<typeof transferWorkflow>) =>
      client.workflow.executeUpdateWithStart(awaitTransferOutcomeUpdate, { startWorkflowOperation: op });

    // First request: starts the workflow and waits for its outcome.
    const first = updateWithStart(startOperation());
    // (The operation's handle resolves only with the update's result, so find the run by describing the id.)
    let started: Awaited<ReturnType<WorkflowHandle['describe']>> | undefined;
    for (const deadline = Date.now() + 5_000; !started && Date.now() < deadline; ) {
      started = await client.workflow.getHandle(workflowId).describe().catch((err: unknown) => {
        if (err instanceof WorkflowNotFoundError) return undefined;
        throw err;
      });
      if (!started) await sleep(50);
    }
    if (!started) throw new Error(`workflow ${workflowId} did not start`);
    const runId = started.runId;
    expect(started.status.name).toBe('RUNNING');

    // While it runs: a second update-with-start attaches to it, and so does the API's gateway, which
    // reports an outcome only once the workflow has recorded it.
    const gateway = createTransferWorkflowGateway({ client, taskQueue, logger: testLogger, holdTtlSeconds: HOLD_TTL_SECONDS });
    const attachOp = startOperation();
    const [firstOutcome, attachedOutcome, viaGateway] = await Promise.all([
      first,
      updateWithStart(attachOp),
      gateway.startAndAwait(t, 10_000).then(async (result) => ({ result, status: (await transferRow(t.id)).status })),
    ]);
    // The update answers with the transfer's progress: finished, with its outcome.
    const finished = { transferId: t.id, status: 'completed', step: 'done', outcome: expected };
    expect(firstOutcome).toEqual(finished);
    expect(attachedOutcome).toEqual(finished);
    expect((await (await attachOp.workflowHandle()).describe()).runId).toBe(runId);
    expect(viaGateway).toEqual({ result: 'outcome', status: 'completed' });
    expect(await client.workflow.getHandle(workflowId, runId).result()).toEqual(expected);

    // Again on the just-finished id: the closed run is kept, never restarted.
    await expect(updateWithStart(startOperation())).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect(await gateway.startAndAwait(t, 10_000)).toBe('outcome');

    // Strongly consistent: the id's latest run is still the first one.
    const latest = await client.workflow.getHandle(workflowId).describe();
    expect(latest.runId).toBe(runId);
    expect(latest.status.name).toBe('COMPLETED');
    // Visibility lags a little: wait until it shows the run closed, then count the runs of the id.
    const listRuns = async () => {
      const runs: Array<{ runId: string; status: string }> = [];
      for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) runs.push({ runId: w.runId, status: w.status.name });
      return runs;
    };
    let runs = await listRuns();
    for (const deadline = Date.now() + 10_000; Date.now() < deadline && !(runs.length > 0 && runs.every((r) => r.status !== 'RUNNING')); ) {
      await sleep(200);
      runs = await listRuns();
    }
    expect(runs).toEqual([{ runId, status: 'COMPLETED' }]);

    expect(attempts.get(t.id)?.filter((a) => a.activity === 'validateTransfer')).toHaveLength(1);
    await expectTransferRow(t, 'completed', '1', 'success');
    await expectPostedOnce(t, '7.50');
    await expectBalances(source.accountId, '2.50', '0.00', '2.50');
    await expectBalances(destination.accountId, '7.50', '0.00', '7.50');
    await expectLedgerInvariants(db);
  });

  test('recovery sweep starts the workflow of a transfer recorded without one (crash between insert and start)', async () => {
    const source = await party({ deposit: '20.00' });
    const destination = await party();
    // The API committed the row and died before starting the workflow.
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '4.00' });
    // Its row is an hour old; every other test's rows are minutes old, so only ours qualifies.
    await db('transfers').where({ id: t.id }).update({ created_at: db.raw("now() - interval '1 hour'") });
    const gateway = createTransferWorkflowGateway({ client, taskQueue, logger: testLogger, holdTtlSeconds: HOLD_TTL_SECONDS });
    const recovery = createTransferRecovery({ db, gateway, logger: testLogger, minAgeMs: 30 * 60_000 });

    expect(await recovery.sweepOnce()).toBe(1);
    const handle = client.workflow.getHandle(transferWorkflowId(t.id));
    expect(await handle.result()).toEqual({ transferId: t.id, status: 'completed', responseCode: '1', message: 'success' });
    const { runId } = await handle.describe();
    // Finished now: the next sweep has nothing to do and the run is never repeated.
    expect(await recovery.sweepOnce()).toBe(0);
    expect((await handle.describe()).runId).toBe(runId);
    await expectTransferRow(t, 'completed', '1', 'success');
    await expectPostedOnce(t, '4.00');
    await expectBalances(source.accountId, '16.00', '0.00', '16.00');
    await expectLedgerInvariants(db);
  });

  test('cancelled by an operator before funds are reserved: failed with 606, nothing reserved, outcome recorded', async () => {
    const source = await party({ deposit: '30.00' });
    const destination = await party();
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '5.00' });
    faults.set(t.id, { crashAfterCommit: new Set(), validateDelayMs: 3_000 });
    const handle = await client.workflow.start(transferWorkflow, {
      workflowId: transferWorkflowId(t.id),
      taskQueue,
      args: [toWorkflowInput(t, HOLD_TTL_SECONDS)],
      workflowExecutionTimeout: '45 seconds',
    });
    // Cancel while validation is still running (it is held for 3 s).
    for (const deadline = Date.now() + 10_000; !attempts.get(t.id)?.length && Date.now() < deadline; ) await sleep(50);
    await handle.cancel();

    const message = 'contact_support: cancelled by an operator';
    expect(await handle.result()).toEqual({ transferId: t.id, status: 'failed', responseCode: '606', message });
    await expectTransferRow(t, 'failed', '606', message);
    await expectNothingMoved(t);
    expect(await holdsOf(t.id)).toHaveLength(0);
    await expectBalances(source.accountId, '30.00', '0.00', '30.00');
    await expectLedgerInvariants(db);
  });
});
