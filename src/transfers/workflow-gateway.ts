import { Client, WithStartWorkflowOperation, WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from 'pino';
import {
  awaitTransferOutcomeUpdate,
  complianceDecisionSignal,
  CustomerIdSearchAttribute,
  PAYOUT_WORKFLOW_TYPE,
  railEventSignal,
  SourceAccountIdSearchAttribute,
  TRANSFER_WORKFLOW_TYPE,
  TransferStatusSearchAttribute,
  type ComplianceDecision,
  type MovementWorkflow,
  type PayoutTiming,
  type RailEventSignal,
  type TransferWorkflowInput,
} from '../../workflows/contract';
import { formatAmount } from '../money/money';
import type { TransferRow } from './model';

export type WaitResult = 'outcome' | 'timeout';

/**
 * The workflow closed before (or while) the update reached it: a transfer's or payout's workflow
 * closes only after recording its outcome, so the outcome is on the row. A transfer often starts,
 * decides and closes in a single workflow task, so an update racing it meets a closed run
 * ("already started" with REJECT_DUPLICATE, or "aborted by closing workflow").
 */
const workflowClosed = (err: unknown) => err instanceof WorkflowExecutionAlreadyStartedError || err instanceof WorkflowNotFoundError;

type StartOf = { summary: string | undefined; input: TransferWorkflowInput };

/** How long, after the wait for an outcome, a request may still spend making sure its workflow exists. */
const ENSURE_STARTED_DEADLINE_MS = 3_000;

export type { PayoutTiming };

/**
 * A transfer's workflow input: who and what moves, and for how long a compliance hold waits. With
 * `units` (the currencies' minor units) the amounts read as the API shows them ("12000.00"), which
 * is how ops see the input in the Temporal UI; without, as stored ("12000.00000000").
 */
export function toWorkflowInput(t: TransferRow, holdTtlSeconds: number, units?: { source: number; target: number }): TransferWorkflowInput {
  const shown = (amount: string | null, minorUnits: number | undefined) => (amount === null || minorUnits === undefined ? amount : formatAmount(amount, minorUnits));
  return {
    transferId: t.id,
    customerId: t.customer_id,
    sourceAccountId: t.source_account_id,
    destinationAccountId: t.destination_account_id,
    sourceAmount: shown(t.source_amount, units?.source),
    sourceCurrency: t.source_currency.trim(),
    targetAmount: shown(t.target_amount, units?.target),
    targetCurrency: t.target_currency.trim(),
    reference: t.reference,
    holdTtlSeconds,
  };
}

/**
 * Starts a transfer's workflow (or attaches to the running one) and waits a bounded time for
 * its outcome, with update-with-start: one round trip starts the workflow and subscribes to the
 * `awaitTransferOutcome` update. Workflow ids come from transfer ids, and a closed workflow
 * is never restarted (REJECT_DUPLICATE), so a transfer runs at most one workflow.
 */
export function createTransferWorkflowGateway(deps: {
  client: Client;
  taskQueue: string;
  logger: Logger;
  holdTtlSeconds: number;
  payoutTiming?: PayoutTiming;
  /** The workflow's one-line summary in the Temporal UI (src/transfers/workflow-summary.ts). */
  summarize?: (t: TransferRow) => Promise<string>;
  /** A currency's minor units, so that the workflow's input shows amounts as the API does. */
  minorUnits?: (currency: string) => Promise<number>;
}) {
  const { client, taskQueue } = deps;

  /** Only for people looking at the UI: a summary that cannot be made never stops a start. */
  async function summaryOf(t: TransferRow): Promise<string | undefined> {
    if (!deps.summarize) return undefined;
    try {
      return await deps.summarize(t);
    } catch (err) {
      deps.logger.warn({ err, transferId: t.id }, 'no workflow summary');
      return undefined;
    }
  }

  /** What a start carries besides the row: its summary and the input, its amounts in the currencies' minor units. */
  async function startFor(t: TransferRow): Promise<StartOf> {
    const [summary, source, target] = await Promise.all([summaryOf(t), deps.minorUnits?.(t.source_currency), deps.minorUnits?.(t.target_currency)]);
    const units = source === undefined || target === undefined ? undefined : { source, target };
    const payout = t.kind === 'payout' && deps.payoutTiming ? { payout: deps.payoutTiming } : {};
    return { summary, input: { ...toWorkflowInput(t, deps.holdTtlSeconds, units), ...payout } };
  }

  const workflowType = (t: TransferRow) => (t.kind === 'payout' ? PAYOUT_WORKFLOW_TYPE : TRANSFER_WORKFLOW_TYPE);
  const startOptions = (t: TransferRow, start: StartOf) => ({
    workflowId: t.workflow_id,
    ...(start.summary ? { staticSummary: start.summary } : {}),
    taskQueue,
    args: [start.input] as [TransferWorkflowInput],
    workflowIdConflictPolicy: 'USE_EXISTING' as const,
    workflowIdReusePolicy: 'REJECT_DUPLICATE' as const,
    // Set at start, so the workflow upserts TransferStatus only when it changes.
    typedSearchAttributes: [
      { key: TransferStatusSearchAttribute, value: 'processing' },
      { key: CustomerIdSearchAttribute, value: t.customer_id },
      { key: SourceAccountIdSearchAttribute, value: t.source_account_id },
    ],
  });

  async function startAndAwait(t: TransferRow, waitMs: number): Promise<WaitResult> {
    const start = await startFor(t);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), waitMs);
    try {
      await client.withAbortSignal(controller.signal, () =>
        client.workflow.executeUpdateWithStart(awaitTransferOutcomeUpdate, {
          startWorkflowOperation: new WithStartWorkflowOperation<MovementWorkflow>(workflowType(t), startOptions(t, start)),
        }),
      );
      return 'outcome';
    } catch (err) {
      if (workflowClosed(err)) return 'outcome';
      if (!controller.signal.aborted) throw err;
      // The bound passed first. Make sure the workflow exists whatever stage the call reached, within
      // a few seconds more: an unreachable engine is answered 503 (and the recovery sweep starts it later).
      await client.withDeadline(Date.now() + ENSURE_STARTED_DEADLINE_MS, () => ensureStarted(t, start));
      return 'timeout';
    } finally {
      clearTimeout(timer);
    }
  }

  /** Starts the workflow unless it runs (then a no-op); `closed` when its run has already ended. */
  async function ensureStarted(t: TransferRow, start?: StartOf): Promise<'running' | 'closed'> {
    try {
      await client.workflow.start<MovementWorkflow>(workflowType(t), startOptions(t, start ?? (await startFor(t))));
      return 'running';
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return 'closed';
      throw err;
    }
  }

  /**
   * Waits up to `waitMs` for the transfer's outcome (it is then recorded on the transfer). A
   * transfer's workflow ends with it; a payout's stays open through its return window, so for a
   * payout the outcome is asked for until it is there.
   */
  async function awaitResult(t: TransferRow, waitMs: number): Promise<WaitResult> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), waitMs);
    try {
      // The same update as at creation: it answers once the outcome is recorded (a payout's workflow
      // then stays open for its return window, so waiting for the workflow's result would not do).
      await client.withAbortSignal(controller.signal, () => client.workflow.getHandle(t.workflow_id).executeUpdate(awaitTransferOutcomeUpdate));
      return 'outcome';
    } catch (err) {
      if (workflowClosed(err)) return 'outcome';
      if (controller.signal.aborted) return 'timeout';
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Delivers a compliance decision to a held transfer's workflow. */
  async function sendDecision(t: TransferRow, decision: ComplianceDecision<'release' | 'reject'>): Promise<void> {
    await client.workflow.getHandle(t.workflow_id).signal(complianceDecisionSignal, decision);
  }

  /** Delivers the rail's settlement or return to a payout's workflow. */
  async function sendRailEvent(t: TransferRow, event: RailEventSignal): Promise<void> {
    await client.workflow.getHandle(t.workflow_id).signal(railEventSignal, event);
  }

  return { startAndAwait, ensureStarted, sendDecision, sendRailEvent, awaitResult };
}

export type TransferWorkflowGateway = ReturnType<typeof createTransferWorkflowGateway>;
