/**
 * Workflows already running must keep running: every history recorded from an earlier version of
 * the workflows (test/fixtures/histories/<version>/, see test/support/record-histories.ts) is
 * replayed against today's workflow code with the SDK's replayer. A change that would make a
 * running transfer, payout or webhook delivery fail its next workflow task (a nondeterminism error) fails here.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Money } from '../../src/money/money';
import { workflowBundle } from '../support/harness';

const HISTORIES = path.resolve(__dirname, '../fixtures/histories');

const recorded = fs
  .readdirSync(HISTORIES)
  .flatMap((version) => fs.readdirSync(path.join(HISTORIES, version)).map((file) => ({ version, file })))
  .filter(({ file }) => file.endsWith('.json'));

test.each(['v1', 'v2', 'v3'])('%s: there are recorded histories for every path a running transfer or payout can be on', (version) => {
  const names = new Set(recorded.filter((r) => r.version === version).map((r) => r.file.replace(/\.json$/, '')));
  for (const path of [
    'transfer-completed',
    'transfer-declined-insufficient-funds',
    'transfer-held-released',
    'transfer-held-expired',
    'payout-settled-in-return-window',
    'payout-returned',
  ]) {
    expect(names).toContain(path);
  }
});

test.each(['v3'])('%s: there are recorded histories for every path a webhook delivery can be on, running ones too', (version) => {
  const names = new Set(recorded.filter((r) => r.version === version).map((r) => r.file.replace(/\.json$/, '')));
  for (const path of ['webhook-delivered', 'webhook-retried-then-delivered', 'webhook-abandoned-endpoint-disabled', 'webhook-waiting-to-retry']) expect(names).toContain(path);
});

describe.each(recorded)('$version/$file', ({ version, file }) => {
  test('replays against the current workflow code without a nondeterminism error', async () => {
    const { workflowId, history } = JSON.parse(fs.readFileSync(path.join(HISTORIES, version, file), 'utf8'));
    const parsed = historyFromJSON(history);
    expect(parsed.events?.length).toBeGreaterThan(3);
    await expect(Worker.runReplayHistory({ workflowBundle: workflowBundle(), replayName: `${version}/${file}` }, parsed, workflowId)).resolves.toBeUndefined();
  });
});

/**
 * New workflows carry their amounts in the currency's minor units ("12000.00", as the API shows
 * them); the recorded ones carry the database's scale ("12000.00000000"). Workflow code reads the
 * input's amounts as decimal strings either way: every recorded history, its input rewritten to
 * minor units, replays just the same.
 */
const MINOR_UNITS: Record<string, number> = { USD: 2, EUR: 2, GBP: 2, JPY: 0, COP: 2, MXN: 2, KWD: 3 };

function withMinorUnitAmounts(history: { events: Array<Record<string, any>> }): { events: Array<Record<string, any>>; rewritten: number } {
  let rewritten = 0;
  const events = history.events.map((event) => {
    const payloads = event.workflowExecutionStartedEventAttributes?.input?.payloads as Array<{ metadata: unknown; data: string }> | undefined;
    if (!payloads?.[0]) return event;
    const input = JSON.parse(Buffer.from(payloads[0].data, 'base64').toString('utf8')) as Record<string, unknown>;
    for (const [amount, currency] of [['sourceAmount', 'sourceCurrency'], ['targetAmount', 'targetCurrency']] as const) {
      const value = input[amount];
      const units = MINOR_UNITS[String(input[currency])];
      if (typeof value !== 'string' || units === undefined) continue;
      const shown = new Money(value).toFixed(units);
      if (shown !== value) rewritten++;
      input[amount] = shown;
    }
    const data = Buffer.from(JSON.stringify(input)).toString('base64');
    return { ...event, workflowExecutionStartedEventAttributes: { ...event.workflowExecutionStartedEventAttributes, input: { payloads: [{ ...payloads[0], data }, ...payloads.slice(1)] } } };
  });
  return { events, rewritten };
}

const movementHistories = recorded.filter(({ file }) => !file.startsWith('webhook-'));

test('the recorded histories carry the database scale: the rewrite below changes them', () => {
  const rewritten = movementHistories.map(({ version, file }) => withMinorUnitAmounts(JSON.parse(fs.readFileSync(path.join(HISTORIES, version, file), 'utf8')).history).rewritten);
  expect(rewritten.every((n) => n > 0)).toBe(true);
});

describe.each(movementHistories)('$version/$file with its amounts in minor units', ({ version, file }) => {
  test('replays against the current workflow code', async () => {
    const { workflowId, history } = JSON.parse(fs.readFileSync(path.join(HISTORIES, version, file), 'utf8'));
    const { events } = withMinorUnitAmounts(history);
    await expect(Worker.runReplayHistory({ workflowBundle: workflowBundle(), replayName: `${version}/${file} (minor units)` }, historyFromJSON({ ...history, events }), workflowId)).resolves.toBeUndefined();
  });
});
