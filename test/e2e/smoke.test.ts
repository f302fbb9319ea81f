import { createKey, customerWithAccount, expectLedgerInvariants, httpClient, startTestApplication } from '../support/harness';

let app: Awaited<ReturnType<typeof startTestApplication>>;
beforeAll(async () => {
  app = await startTestApplication();
});
afterAll(async () => {
  await app?.stop();
});

test('deposit then transfer', async () => {
  const admin = httpClient(app.url, await createKey(app.db, 'admin'));
  const a = await customerWithAccount(admin, { deposit: '100.00' });
  const b = await customerWithAccount(admin);
  const res = await admin.post(
    '/v1/transfers',
    { source_account_id: a.accountId, destination_account_id: b.accountId, source_amount: '30.25', reference: 'rent' },
    { headers: { 'idempotency-key': 'k1' } },
  );
  console.log(res.status, JSON.stringify(res.body, null, 1));
  expect(res.status).toBe(201);
  await expectLedgerInvariants(app.db);
});
