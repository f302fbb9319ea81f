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
