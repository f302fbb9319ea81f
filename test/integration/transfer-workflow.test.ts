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
} from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import Decimal from 'decimal.js';
import { createActivities, type MovementActivities } from '../../activities';
import { createAccountService } from '../../src/accounts/service';
import { createAuthService, type Principal } from '../../src/auth/service';
import { createCustomerService } from '../../src/customers/service';
import type { Db } from '../../src/db/knex';
import type { ReservationRow, LedgerEntryRow, LedgerTransactionRow } from '../../src/ledger/model';
import type { LedgerService } from '../../src/ledger/service';
import { createWorker } from '../../worker/temporal-worker';
import type { TransferRow } from '../../src/transfers/model';
import { createTransferRepository } from '../../src/transfers/repository';
import { createServices } from '../../src/services';
import type { PricingService } from '../../src/pricing/service';
import type { ComplianceService } from '../../src/compliance/service';
import { createTransferService, type CreateTransferInput } from '../../src/transfers/service';
import { createTransferRecovery } from '../../src/transfers/recovery';
import { createTransferWorkflowGateway, toWorkflowInput } from '../../src/transfers/workflow-gateway';
import { transferWorkflowV2 } from '../../workflows/transfer';
import {
  awaitTransferOutcomeUpdate,
  complianceDecisionSignal,
  transferStatusQuery,
  TransferStatusSearchAttribute,
  transferWorkflowId,
  type TransferOutcome,
} from '../../workflows/contract';
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
  /** Steps whose FIRST attempt for this transfer runs for real (commits) and then throws. */
  crashAfterCommit: Set<'prepareTransfer' | 'completeTransfer'>;
  /** Delay before prepareTransfer runs, to keep the workflow open for a while. */
  prepareDelayMs?: number;
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
let workerActivities: MovementActivities;
let admin: Principal;
let transfersService: ReturnType<typeof createTransferService>;
let customers: ReturnType<typeof createCustomerService>;
let pricing: PricingService;
let compliance: ComplianceService;
const HOLD_TTL_SECONDS = 3600;
let accountsService: ReturnType<typeof createAccountService>;

/** Per transfer id: the faults to inject, and every step attempt seen (name + attempt number). */
const faults = new Map<string, Faults>();
const attempts = new Map<string, Array<{ activity: string; attempt: number }>>();
/** Per transfer id: the source account's state seen at the start of each completeTransfer attempt. */
const seenBeforePost = new Map<string, Array<{ pending: string; holds: number }>>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const money = (v: string) => new Decimal(v).toFixed(2);

/** The real activities, with the transfer's steps recorded and faults injected where a test asks. */
function wrapActivities(real: MovementActivities): MovementActivities {
  const record = (transferId: string, activity: string) => {
    const attempt = Context.current().info.attempt;
    const list = attempts.get(transferId) ?? [];
    list.push({ activity, attempt });
    attempts.set(transferId, list);
    return attempt;
  };
  const crashAfterCommit = (transferId: string, name: 'prepareTransfer' | 'completeTransfer', attempt: number) => {
    if (attempt === 1 && faults.get(transferId)?.crashAfterCommit.has(name)) throw new Error('simulated crash after commit');
  };
  return {
    ...real,
    prepareTransfer: async (input) => {
      const attempt = record(input.transferId, 'prepareTransfer');
      const delay = faults.get(input.transferId)?.prepareDelayMs;
      if (delay) await sleep(delay);
      const result = await real.prepareTransfer(input);
      crashAfterCommit(input.transferId, 'prepareTransfer', attempt);
      return result;
    },
    completeTransfer: async (ref) => {
      const attempt = record(ref.transferId, 'completeTransfer');
      const t = await db('transfers').where({ id: ref.transferId }).first<TransferRow>();
      const source = await balancesOf(t.source_account_id);
      const holds = await db('holds').where({ transfer_id: ref.transferId }).count<{ count: string }[]>({ count: '*' });
      const seen = seenBeforePost.get(ref.transferId) ?? [];
      seen.push({ pending: source.pending, holds: Number(holds[0]?.count) });
      seenBeforePost.set(ref.transferId, seen);
      const result = await real.completeTransfer(ref);
      crashAfterCommit(ref.transferId, 'completeTransfer', attempt);
      return result;
    },
    refuseTransfer: async (input) => {
      record(input.transferId, 'refuseTransfer');
      return real.refuseTransfer(input);
    },
    applyComplianceDecision: async (input) => {
      record(input.transferId, 'applyComplianceDecision');
      return real.applyComplianceDecision(input);
    },
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
    activities: (workerActivities = wrapActivities(createActivities(activityDeps))),
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
  return client.workflow.execute(transferWorkflowV2, {
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
const holdsOf = (transferId: string) => db('holds').where({ transfer_id: transferId }).select<ReservationRow[]>('*');
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

/**
 * A completed transfer: exactly one ledger transaction, debit on the source, credit on the
 * destination. Approved at once it was posted directly (no reservation); held for compliance and
 * released (`reserved`), its reservation was consumed by the posting.
 */
async function expectPostedOnce(t: TransferRow, amount: string, opts: { reserved?: boolean } = {}): Promise<void> {
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
  const row = await transferRow(t.id);
  expect(row.ledger_transaction_id).toBe(tx.id);
  if (!opts.reserved) {
    expect(holds).toHaveLength(0);
    expect(row.hold_id).toBeNull();
    return;
  }
  expect(holds).toHaveLength(1);
  const hold = holds[0] as ReservationRow;
  expect(hold.status).toBe('posted');
  expect(hold.resolved_at).toBeInstanceOf(Date);
  expect(hold.account_id).toBe(t.source_account_id);
  expect(money(hold.amount)).toBe(money(amount));
  expect(row.hold_id).toBe(hold.id);
}

/** The API's gateway to the workflows, on this file's task queue. */
const gatewayFor = () => createTransferWorkflowGateway({ client, taskQueue, logger: testLogger, holdTtlSeconds: HOLD_TTL_SECONDS });

/** A recovery sweep for transfers older than every other test's (they backdate their row by an hour). */
const recoveryOlderThanHalfAnHour = () => createTransferRecovery({ db, transfers: createTransferRepository(db), gateway: gatewayFor(), logger: testLogger, minAgeMs: 30 * 60_000 });

/** Starts a transfer's workflow without waiting for it (runTransfer waits for its result). */
const startTransfer = (t: TransferRow, queue = taskQueue) =>
  client.workflow.start(transferWorkflowV2, { workflowId: transferWorkflowId(t.id), taskQueue: queue, args: [toWorkflowInput(t, HOLD_TTL_SECONDS)], workflowExecutionTimeout: '45 seconds' });

/** A 12,000.00 transfer from 20,000.00, held for compliance (the default threshold): its funds reserved, waiting. */
async function heldTransfer(f?: Faults) {
  const source = await party({ deposit: '20000.00' });
  const destination = await party();
  const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '12000.00' });
  if (f) faults.set(t.id, f);
  const handle = await startTransfer(t);
  for (const deadline = Date.now() + 10_000; (await transferRow(t.id)).status !== 'held' && Date.now() < deadline; ) await sleep(50);
  await expectBalances(source.accountId, '20000.00', '12000.00', '8000.00');
  return { source, destination, t, handle };
}

/** The 12,000.00 a held-then-released transfer moved: posted once from its reservation, balances settled. */
async function expectReleasedAndPosted(t: TransferRow, source: { accountId: string }, destination: { accountId: string }): Promise<void> {
  await expectTransferRow(t, 'completed', '1', 'success');
  await expectPostedOnce(t, '12000.00', { reserved: true });
  await expectBalances(source.accountId, '8000.00', '0.00', '8000.00');
  await expectBalances(destination.accountId, '12000.00', '0.00', '12000.00');
  await expectLedgerInvariants(db);
}

/** The runs of a workflow id as visibility lists them, once none is running (visibility lags a little). */
async function closedRunsOf(workflowId: string): Promise<Array<{ runId: string; status: string }>> {
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
  return runs;
}

describe('transfer workflow (real worker, real Temporal, real Postgres)', () => {
  test('success: completes with response code 1 in one step, posting one balanced transaction', async () => {
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

    expect(attempts.get(t.id)?.map((a) => a.activity)).toEqual(['prepareTransfer']);
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
    expect(attempts.get(t.id)?.map((a) => a.activity)).toEqual(['prepareTransfer']);
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

  test('prepareTransfer retried after a crash after its commit posts once and returns the first outcome', async () => {
    const source = await party({ deposit: '100.00' });
    const destination = await party();
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '60.00' });

    const outcome = await runTransfer(t, { crashAfterCommit: new Set(['prepareTransfer']) });
    expect(outcome).toEqual({ transferId: t.id, status: 'completed', responseCode: '1', message: 'success' });

    const prepares = attempts.get(t.id)?.filter((a) => a.activity === 'prepareTransfer');
    expect(prepares?.map((a) => a.attempt)).toEqual([1, 2]);
    await expectTransferRow(t, 'completed', '1', 'success');
    await expectPostedOnce(t, '60.00');
    await expectBalances(source.accountId, '40.00', '0.00', '40.00');
    await expectBalances(destination.accountId, '60.00', '0.00', '60.00');
    expect(await entriesOnAccount(destination.accountId)).toHaveLength(1);
    await expectLedgerInvariants(db);
  });

  test('held, then released: completeTransfer retried after a crash after its commit consumes the reservation once', async () => {
    // Reserved once (heldTransfer checks the balances) ...
    const { source, destination, t, handle } = await heldTransfer({ crashAfterCommit: new Set(['completeTransfer']) });
    await handle.signal(complianceDecisionSignal, { decision: 'release', reviewer: 'jane@bank', reason: 'documents checked' });

    expect(await handle.result()).toEqual({ transferId: t.id, status: 'completed', responseCode: '1', message: 'success' });
    const posts = attempts.get(t.id)?.filter((a) => a.activity === 'completeTransfer');
    expect(posts?.map((a) => a.attempt)).toEqual([1, 2]);
    // The second attempt started after the first one's commit: the reservation was already consumed.
    expect(seenBeforePost.get(t.id)).toEqual([
      { pending: '12000.00', holds: 1 },
      { pending: '0.00', holds: 1 },
    ]);
    await expectReleasedAndPosted(t, source, destination);
  });

  test('awaitTransferOutcome with update-with-start attaches to the running workflow and never starts a second run', async () => {
    const source = await party({ deposit: '20000.00' });
    const destination = await party();
    // Large enough to be held for compliance: the workflow waits, so the repeats below meet it running.
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '12000.00' });
    const workflowId = transferWorkflowId(t.id);
    const expected: TransferOutcome = { transferId: t.id, status: 'completed', responseCode: '1', message: 'success' };
    // The API gateway's options: attach to a running workflow (USE_EXISTING) and never restart a closed
    // one (REJECT_DUPLICATE; with the default ALLOW_DUPLICATE a closed id would start a second run).
    const startOperation = () =>
      new WithStartWorkflowOperation(transferWorkflowV2, {
        workflowId,
        taskQueue,
        args: [toWorkflowInput(t, HOLD_TTL_SECONDS)],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    const updateWithStart = (op: WithStartWorkflowOperation<typeof transferWorkflowV2>) =>
      client.workflow.executeUpdateWithStart(awaitTransferOutcomeUpdate, { startWorkflowOperation: op });

    // First request: starts the workflow; held counts as an answer.
    const held = { transferId: t.id, status: 'held', step: 'awaiting_decision', outcome: null };
    const firstOp = startOperation();
    expect(await updateWithStart(firstOp)).toEqual(held);
    const runId = (await (await firstOp.workflowHandle()).describe()).runId;

    // Repeats while it waits: a second update-with-start and the API's gateway attach to the same run.
    const gateway = gatewayFor();
    const attachOp = startOperation();
    expect(await updateWithStart(attachOp)).toEqual(held);
    expect((await (await attachOp.workflowHandle()).describe()).runId).toBe(runId);
    expect(await gateway.startAndAwait(t, 10_000)).toBe('outcome');

    // Released: an update sent after the decision waits for the outcome, not the hold.
    await gateway.sendDecision(t, { decision: 'release', reviewer: 'jane@bank', reason: 'documents checked' });
    const afterDecision = await updateWithStart(startOperation()).catch((err: unknown) => err);
    // It either met the run and waited for its outcome, or (racing its last task) found it closed.
    if (afterDecision instanceof WorkflowExecutionAlreadyStartedError) expect((await transferRow(t.id)).status).toBe('completed');
    else expect(afterDecision).toEqual({ transferId: t.id, status: 'completed', step: 'done', outcome: expected });
    expect(await client.workflow.getHandle(workflowId, runId).result()).toEqual(expected);

    // Again on the finished id: the closed run is kept, never restarted.
    await expect(updateWithStart(startOperation())).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect(await gateway.startAndAwait(t, 10_000)).toBe('outcome');
    expect(await gateway.awaitResult(t, 10_000)).toBe('outcome');

    // Strongly consistent: the id's latest run is still the first one.
    const latest = await client.workflow.getHandle(workflowId).describe();
    expect(latest.runId).toBe(runId);
    expect(latest.status.name).toBe('COMPLETED');
    // Visibility, once it shows the run closed, counts one run of the id.
    expect(await closedRunsOf(workflowId)).toEqual([{ runId, status: 'COMPLETED' }]);

    expect(attempts.get(t.id)?.map((a) => a.activity)).toEqual(['prepareTransfer', 'applyComplianceDecision', 'completeTransfer']);
    await expectReleasedAndPosted(t, source, destination);
  });

  test('concurrent update-with-start requests for a new transfer start one run; each meets it or finds it closed', async () => {
    const source = await party({ deposit: '10.00' });
    const destination = await party();
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '7.50' });
    const gateway = gatewayFor();
    expect(await Promise.all(Array.from({ length: 5 }, () => gateway.startAndAwait(t, 10_000)))).toEqual(Array(5).fill('outcome'));
    expect((await closedRunsOf(transferWorkflowId(t.id))).map((r) => r.status)).toEqual(['COMPLETED']);
    expect(attempts.get(t.id)?.map((a) => a.activity)).toEqual(['prepareTransfer']);
    await expectTransferRow(t, 'completed', '1', 'success');
    await expectPostedOnce(t, '7.50');
    await expectLedgerInvariants(db);
  });

  test('recovery sweep starts the workflow of a transfer recorded without one (crash between insert and start)', async () => {
    const source = await party({ deposit: '20.00' });
    const destination = await party();
    // The API committed the row and died before starting the workflow.
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '4.00' });
    // Its row is an hour old; every other test's rows are minutes old, so only ours qualifies.
    await db('transfers').where({ id: t.id }).update({ created_at: db.raw("now() - interval '1 hour'") });
    const recovery = recoveryOlderThanHalfAnHour();

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

  test('recovery sweep: a transfer whose workflow ended before it ran (terminated) is recorded failed 606, nothing moved', async () => {
    const source = await party({ deposit: '20.00' });
    const destination = await party();
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '4.00' });
    const handle = await startTransfer(t, uniqueTaskQueue('never-polled'));
    await handle.terminate('operator stopped it');
    await db('transfers').where({ id: t.id }).update({ created_at: db.raw("now() - interval '1 hour'") });
    const recovery = recoveryOlderThanHalfAnHour();

    expect(await recovery.sweepOnce()).toBe(1);
    await expectTransferRow(t, 'failed', '606', 'contact_support: its workflow ended before it ran; nothing was moved');
    expect(await recovery.sweepOnce()).toBe(0);
    await expectNothingMoved(t);
    await expectBalances(source.accountId, '20.00', '0.00', '20.00');
    expect((await handle.describe()).status.name).toBe('TERMINATED');
    await expectLedgerInvariants(db);
  });

  test('cancelled by an operator before any worker picked it up: failed with 606, nothing reserved', async () => {
    const source = await party({ deposit: '30.00' });
    const destination = await party();
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '5.00' });
    // No worker polls this queue yet (the workers are down): the cancellation arrives first.
    const idleQueue = uniqueTaskQueue('no-worker-yet');
    const handle = await startTransfer(t, idleQueue);
    await handle.cancel();
    const late = await createWorker({ connection: nativeConnection, namespace: 'default', taskQueue: idleQueue, activities: workerActivities, workflowBundle: workflowBundle() });
    const lateRun = late.run();
    try {
      const message = 'contact_support: cancelled by an operator';
      expect(await handle.result()).toEqual({ transferId: t.id, status: 'failed', responseCode: '606', message });
      await expectTransferRow(t, 'failed', '606', message);
    } finally {
      late.shutdown();
      await lateRun;
    }
    await expectNothingMoved(t);
    expect(await holdsOf(t.id)).toHaveLength(0);
    await expectBalances(source.accountId, '30.00', '0.00', '30.00');
    await expectLedgerInvariants(db);
  });

  test('cancelled while its preparation runs: whichever wins, the outcome, the row and the ledger agree', async () => {
    const source = await party({ deposit: '30.00' });
    const destination = await party();
    const t = await createTransfer({ source_account_id: source.accountId, destination_account_id: destination.accountId, source_amount: '5.00' });
    faults.set(t.id, { crashAfterCommit: new Set(), prepareDelayMs: 1_000 });
    const handle = await startTransfer(t);
    for (const deadline = Date.now() + 10_000; !attempts.get(t.id)?.length && Date.now() < deadline; ) await sleep(20);
    await handle.cancel();

    // A local activity runs inside the workflow task, so the request is seen only once it has ended:
    // either before the posting (cancelled, the reservation released) or after it (completed).
    const outcome = await handle.result();
    if (outcome.status === 'completed') {
      await expectTransferRow(t, 'completed', '1', 'success');
      await expectPostedOnce(t, '5.00');
      await expectBalances(source.accountId, '25.00', '0.00', '25.00');
    } else {
      expect(outcome).toEqual({ transferId: t.id, status: 'failed', responseCode: '606', message: 'contact_support: cancelled by an operator' });
      await expectTransferRow(t, 'failed', '606', outcome.message);
      await expectNothingMoved(t);
      expect((await holdsOf(t.id)).every((h) => h.status === 'voided')).toBe(true);
      await expectBalances(source.accountId, '30.00', '0.00', '30.00');
    }
    await expectLedgerInvariants(db);
  });

  test('cancelled by an operator while held for compliance: the reservation is released, failed with 606', async () => {
    const { source, t, handle } = await heldTransfer();
    expect(await handle.query(transferStatusQuery)).toMatchObject({ status: 'held', step: 'awaiting_decision', outcome: null });
    await handle.cancel();

    const message = 'contact_support: cancelled by an operator';
    expect(await handle.result()).toEqual({ transferId: t.id, status: 'failed', responseCode: '606', message });
    await expectTransferRow(t, 'failed', '606', message);
    await expectNothingMoved(t);
    expect((await holdsOf(t.id)).map((h) => h.status)).toEqual(['voided']);
    await expectBalances(source.accountId, '20000.00', '0.00', '20000.00');
    expect(attempts.get(t.id)?.map((a) => a.activity)).toEqual(['prepareTransfer', 'refuseTransfer']);
    await expectLedgerInvariants(db);
  });
});
