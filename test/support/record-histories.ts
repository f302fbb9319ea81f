/**
 * Records the event histories of real transfer, payout and webhook delivery workflows, one per
 * path a user's data can hold, into test/fixtures/histories/<set>/. The replay test (test/unit/replay.test.ts) replays
 * every recorded history against today's workflow code, so a change that would break a workflow
 * already running fails `npm test` instead of production.
 *
 *   npm run record-histories -- <set>     (e.g. v2; never overwrite a set that is committed)
 *
 * It starts the same real services as `npm test` (global setup), drives the API over HTTP, and
 * checks that each workflow reached the state its file is named after before saving it.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import globalSetup from './global-setup';
import globalTeardown from './global-teardown';
import { WEBHOOK_DELIVERY_WORKFLOW_TYPE, webhookTaskQueue, type WebhookDeliveryInput } from '../../workflows/contract';
import { connectTemporal, createKey, httpClient, openTestDb, startTestApplication, testRail, uniqueTaskQueue, type HttpClient } from './harness';

const HOLD_TTL_SECONDS = 8;

async function main(): Promise<void> {
  const set = process.argv[2];
  if (!set || !/^[a-z0-9-]+$/.test(set)) throw new Error('usage: npm run record-histories -- <set name, e.g. v2>');
  const outDir = path.resolve(__dirname, '../fixtures/histories', set);
  if (fs.existsSync(outDir)) throw new Error(`${outDir} exists: recorded histories are kept, not overwritten`);
  Runtime.install({ logger: new DefaultLogger('WARN') });
  await globalSetup();
  const db = openTestDb();
  const temporal = await connectTemporal();
  // A hold expires after a few seconds here, so the expiry path can be recorded; payouts settle
  // quickly and stay in a long return window, so "settled, still open" can be recorded too.
  const taskQueue = uniqueTaskQueue('histories');
  const app = await startTestApplication({
    taskQueue,
    complianceHoldTtlSeconds: HOLD_TTL_SECONDS,
    payoutTiming: { settlementCheckSeconds: 2, returnWindowSeconds: 3600 },
  });
  const recorded: string[] = [];
  try {
    const admin = httpClient(app.url, await createKey(db, 'admin'));
    const compliance = httpClient(app.url, await createKey(db, 'compliance'));
    const ada = await customerWithAccount(admin, 'Ada Lovelace', '100000.00');
    const grace = await customerWithAccount(admin, 'Grace Hopper');

    const save = async (name: string, workflowId: string, expectOpen: boolean) => {
      const handle = temporal.client.workflow.getHandle(workflowId);
      // The outcome is recorded in Postgres a moment before the workflow task that closes the run completes.
      if (!expectOpen) await handle.result().catch(() => undefined);
      const { status } = await handle.describe();
      if ((status.name === 'RUNNING') !== expectOpen) throw new Error(`${name}: workflow is ${status.name}`);
      const history = await handle.fetchHistory();
      fs.mkdirSync(outDir, { recursive: true });
      fs.writeFileSync(path.join(outDir, `${name}.json`), JSON.stringify({ workflowId, history: JSON.parse(historyToJSON(history)) }, null, 1) + '\n');
      recorded.push(name);
    };
    const transfer = (amount: string) =>
      admin.post('/v1/transfers', { source_account_id: ada.accountId, destination_account_id: grace.accountId, source_amount: amount, reference: 'history' }, idem());

    const completed = await transfer('10.00');
    await expectStatus(admin, 'transfers', completed.body.id, 'completed');
    await save('transfer-completed', completed.body.workflow_id, false);

    const declined = await transfer('999999.00');
    await expectStatus(admin, 'transfers', declined.body.id, 'declined');
    await save('transfer-declined-insufficient-funds', declined.body.workflow_id, false);

    const released = await transfer('12000.00');
    await expectStatus(admin, 'transfers', released.body.id, 'held');
    const release = await compliance.post(`/v1/transfers/${released.body.id}/release`, { reason: 'documents checked' });
    if (release.status !== 200) throw new Error(`release answered ${release.status}: ${JSON.stringify(release.body)}`);
    await expectStatus(admin, 'transfers', released.body.id, 'completed');
    await save('transfer-held-released', released.body.workflow_id, false);

    const expired = await transfer('12000.00');
    await expectStatus(admin, 'transfers', expired.body.id, 'held');
    await expectStatus(admin, 'transfers', expired.body.id, 'declined', (HOLD_TTL_SECONDS + 30) * 1000);
    await save('transfer-held-expired', expired.body.workflow_id, false);

    const settles = await beneficiary(admin, ada.customerId, 'DE89370400440532013000');
    const settled = await payout(admin, ada.accountId, settles);
    await expectStatus(admin, 'payouts', settled.id, 'completed');
    await save('payout-settled-in-return-window', settled.workflow_id, true);

    const returns = await beneficiary(admin, ada.customerId, 'GB82WEST12345698765432');
    await railControls(returns.iban, { return_after_ms: 1500 });
    const returned = await payout(admin, ada.accountId, returns);
    await expectStatus(admin, 'payouts', returned.id, 'returned', 60_000);
    await waitClosed(temporal.client, returned.workflow_id);
    await save('payout-returned', returned.workflow_id, false);

    const rejects = await beneficiary(admin, ada.customerId, 'FR1420041010050500013M02606');
    await railControls(rejects.iban, { reject: 'account closed' });
    const rejected = await payout(admin, ada.accountId, rejects);
    await expectStatus(admin, 'payouts', rejected.id, 'failed', 60_000);
    await waitClosed(temporal.client, rejected.workflow_id);
    await save('payout-rejected-by-rail', rejected.workflow_id, false);

    // Webhook deliveries, one per path, each started with a retry schedule of its own (the
    // dispatcher would use the configured one, days long) for an event of a customer of their own.
    const receiver = await startReceiver();
    try {
      const wendy = await customerWithAccount(admin, 'Wendy Webhook', '100.00');
      const other = await admin.post('/v1/accounts', { customer_id: wendy.customerId, currency: 'USD' });
      const own = await admin.post('/v1/transfers', { source_account_id: wendy.accountId, destination_account_id: other.body.id, source_amount: '1.00', reference: 'history' }, idem());
      await expectStatus(admin, 'transfers', own.body.id, 'completed');
      const event = await db('webhook_events').where({ resource_id: own.body.id, type: 'transfer.completed' }).first('id');
      const deliver = async (name: string, receiverPath: string, retryDelaysSeconds: number[]) => {
        // Subscribed to nothing this customer raises, so the dispatcher starts no delivery of its own.
        const endpoint = await admin.post('/v1/webhook-endpoints', { customer_id: wendy.customerId, url: `${receiver.url}/${receiverPath}`, event_types: ['payout.returned'] });
        if (endpoint.status !== 201) throw new Error(`webhook endpoint: ${endpoint.status} ${JSON.stringify(endpoint.body)}`);
        const workflowId = `history-${name}-${randomUUID()}`;
        const input: WebhookDeliveryInput = { eventId: event.id, endpointId: endpoint.body.id, retryDelaysSeconds, activityTaskQueue: webhookTaskQueue(taskQueue) };
        await temporal.client.workflow.start(WEBHOOK_DELIVERY_WORKFLOW_TYPE, { taskQueue: taskQueue, workflowId, args: [input] });
        return workflowId;
      };
      const delivered = await deliver('webhook-delivered', 'ok', [1]);
      await waitClosed(temporal.client, delivered);
      await save('webhook-delivered', delivered, false);

      const retried = await deliver('webhook-retried-then-delivered', 'fails-twice', [0.3, 0.3, 0.3]);
      await waitClosed(temporal.client, retried);
      await save('webhook-retried-then-delivered', retried, false);

      const abandoned = await deliver('webhook-abandoned', 'down', [0.3, 0.3]);
      await waitClosed(temporal.client, abandoned);
      await save('webhook-abandoned-endpoint-disabled', abandoned, false);

      // Still running: two attempts failed, the third waits an hour (a running delivery in backoff).
      const waiting = await deliver('webhook-waiting', 'down', [0.3, 3600]);
      for (let i = 0; i < 100 && Number((await db('webhook_deliveries').where({ workflow_id: waiting }).count({ n: '*' }))[0]?.n) < 2; i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 500));
      await save('webhook-waiting-to-retry', waiting, true);
      await temporal.client.workflow.getHandle(waiting).terminate('recorded');
    } finally {
      await receiver.close();
    }
  } finally {
    await app.stop();
    await temporal.close();
    await db.destroy();
    await globalTeardown();
  }
  process.stdout.write(`recorded ${recorded.length} histories into ${outDir}:\n  ${recorded.join('\n  ')}\n`);
}

const idem = () => ({ headers: { 'idempotency-key': randomUUID() } });

async function customerWithAccount(admin: HttpClient, name: string, deposit?: string) {
  const customer = await admin.post('/v1/customers', { name, country: 'GB' });
  const account = await admin.post('/v1/accounts', { customer_id: customer.body.id, currency: 'USD' });
  if (account.status !== 201) throw new Error(`account: ${account.status}`);
  if (deposit) await admin.post(`/v1/accounts/${account.body.id}/deposits`, { amount: deposit, reference: 'seed' });
  return { customerId: customer.body.id as string, accountId: account.body.id as string };
}

async function beneficiary(admin: HttpClient, customerId: string, iban: string) {
  const res = await admin.post('/v1/beneficiaries', { customer_id: customerId, name: 'Hans Muster', country: 'DE', currency: 'USD', bank_details: { iban } });
  if (res.status !== 201) throw new Error(`beneficiary: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.id as string, iban: res.body.bank_details.iban as string };
}

async function payout(admin: HttpClient, accountId: string, to: { id: string }) {
  const res = await admin.post('/v1/payouts', { source_account_id: accountId, beneficiary_id: to.id, source_amount: '20.00', reference: 'history' }, idem());
  if (res.status !== 201 && res.status !== 202) throw new Error(`payout: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; workflow_id: string };
}

async function railControls(account: string, controls: Record<string, unknown>) {
  const res = await fetch(`${testRail().url}/controls/${encodeURIComponent(account)}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(controls),
  });
  if (!res.ok) throw new Error(`rail controls: ${res.status}`);
}

/** A receiver in this process: /ok answers 204, /fails-twice 503 twice then 204, /down always 503. */
async function startReceiver(): Promise<{ url: string; close: () => Promise<void> }> {
  let flaky = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const ok = req.url === '/ok' || (req.url === '/fails-twice' && ++flaky > 2);
      res.writeHead(ok ? 204 : 503).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function expectStatus(client: HttpClient, collection: string, id: string, status: string, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.get(`/v1/${collection}/${id}`);
    if (res.body?.status === status) return;
    if (Date.now() > deadline) throw new Error(`${collection}/${id} is ${res.body?.status}, expected ${status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function waitClosed(client: Awaited<ReturnType<typeof connectTemporal>>['client'], workflowId: string) {
  await client.workflow.getHandle(workflowId).result().catch(() => undefined);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
