/**
 * The compliance console (/console) in a real browser: headless Chromium (Debian's package, found
 * or installed by test/support/chromium.ts) driven by puppeteer-core, against the whole service on
 * the real Postgres, Temporal dev server and simulated payout rail.
 *
 * Shared state: payouts here go from USD accounts to USD beneficiaries with random account numbers
 * (the rail's controls are keyed by account, so nothing another file sets applies); nothing here
 * asserts a system account's balance. The hold queue is shared with other files: rows are found by id.
 *
 * Screenshots go to a temporary directory; with CONSOLE_SCREENSHOTS=docs they replace
 * docs/console.png and docs/console-case.png (docs/compliance-console.md shows both).
 */
import { randomInt, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import type { Application } from '../../stack/application';
import { ensureChromium } from '../support/chromium';
import { createKey, expectLedgerInvariants, httpClient, startTestApplication, type HttpClient } from '../support/harness';

type App = Application & { url: string };

let app: App;
let browser: Browser;
let shots: string;
const VIEWPORT = { width: 1280, height: 800 };
/** Where the console links workflows to (nothing listens there: the link is only checked). */
const TEMPORAL_UI = 'http://127.0.0.1:8233';

beforeAll(async () => {
  const executablePath = ensureChromium();
  app = await startTestApplication({ temporalUiUrl: TEMPORAL_UI });
  browser = await puppeteer.launch({
    executablePath,
    headless: true,
    // As root (CI, containers) Chromium's sandbox cannot start; the page is our own.
    args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--no-first-run', '--no-default-browser-check'],
  });
  shots = process.env.CONSOLE_SCREENSHOTS === 'docs' ? path.join(__dirname, '..', '..', 'docs') : fs.mkdtempSync(path.join(os.tmpdir(), 'console-shots-'));
  fs.mkdirSync(shots, { recursive: true });
}, 600_000);

afterAll(async () => {
  await browser?.close();
  if (app) await expectLedgerInvariants(app.db);
  await app?.stop();
});

// ---------------------------------------------------------------------------------------------
// helpers

const digits = (n: number) => Array.from({ length: n }, () => String(randomInt(10))).join('');

/** A customer with a funded USD account, a USD beneficiary, and a payout of `amount` made by `maker`: held (≥ 10000 USD). */
async function heldPayout(maker: HttpClient, opts: { amount: string; holder?: string; beneficiary?: string }) {
  const customer = await maker.post('/v1/customers', { name: opts.holder ?? `Console Holder ${digits(6)}`, country: 'GB' });
  expect(customer.status).toBe(201);
  const account = await maker.post('/v1/accounts', { customer_id: customer.body.id, currency: 'USD' });
  expect(account.status).toBe(201);
  expect((await maker.post(`/v1/accounts/${account.body.id}/deposits`, { amount: opts.amount, reference: 'seed' })).status).toBe(201);
  const ben = await maker.post('/v1/beneficiaries', {
    customer_id: customer.body.id,
    name: opts.beneficiary ?? `Console Beneficiary ${digits(6)}`,
    country: 'GB',
    currency: 'USD',
    bank_details: { account_number: digits(12), bank_code: 'PAYOGB22' },
  });
  expect(ben.status).toBe(201);
  const res = await maker.post(
    '/v1/payouts',
    { source_account_id: account.body.id, beneficiary_id: ben.body.id, source_amount: opts.amount, reference: 'console e2e' },
    { headers: { 'idempotency-key': randomUUID() } },
  );
  expect({ status: res.status, payout: res.body?.status }).toEqual({ status: 201, payout: 'held' });
  return res.body as { id: string; status: string };
}

/** A fresh browser context (its own sessionStorage) on the console, at `hash` if given. */
async function openConsole(hash = ''): Promise<Page> {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  await page.setViewport(VIEWPORT);
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(String(err)));
  (page as any).__errors = errors;
  const res = await page.goto(`${app.url}/console/${hash}`, { waitUntil: 'load' });
  expect(res?.status()).toBe(200);
  await page.waitForSelector('#key', { visible: true });
  return page;
}

async function signIn(page: Page, key: string): Promise<void> {
  await page.type('#key', key);
  await page.keyboard.press('Enter');
}

const text = (page: Page, selector: string) => page.$eval(selector, (el) => el.textContent ?? '');

async function waitForText(page: Page, selector: string, pattern: RegExp, timeout = 60_000): Promise<string> {
  // A string, evaluated in the page: this project's TypeScript has no DOM types.
  const probe = `(() => { const el = document.querySelector(${JSON.stringify(selector)}); return !!el && !el.hidden && ${pattern.toString()}.test(el.textContent || ''); })()`;
  try {
    await page.waitForFunction(probe, { timeout, polling: 200 });
  } catch (err) {
    const seen = await text(page, selector).catch(() => '(no such element)');
    throw new Error(`${selector} did not come to match ${pattern} within ${timeout} ms; it reads: ${JSON.stringify(seen)}`, { cause: err });
  }
  return text(page, selector);
}

async function closePage(page: Page): Promise<void> {
  expect((page as any).__errors).toEqual([]);
  await page.browserContext().close();
}

// ---------------------------------------------------------------------------------------------

describe('compliance console', () => {
  test('served with every asset from this origin, under a CSP that allows only this origin', async () => {
    const res = await fetch(`${app.url}/console/`);
    expect(res.status).toBe(200);
    const html = await res.text();
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/script-src 'self'/);
    expect(csp).toMatch(/connect-src 'self'/);
    expect(csp).not.toMatch(/https?:/);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    for (const asset of ['console.js', 'console.css']) expect((await fetch(`${app.url}/console/${asset}`)).status).toBe(200);
    const config = await (await fetch(`${app.url}/console/config.json`)).json();
    expect(config).toEqual({ temporal_ui_url: TEMPORAL_UI, namespace: 'default' });
    // The API keeps its own policy, which loads nothing.
    expect((await fetch(`${app.url}/health`)).headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });

  test('sign-in: an unknown key and a client key are refused in words; neither is kept', async () => {
    const admin = httpClient(app.url, await createKey(app.db, 'admin'));
    const customer = await admin.post('/v1/customers', { name: `Console Client ${digits(6)}`, country: 'GB' });
    const clientKey = await createKey(app.db, 'client', customer.body.id);

    const page = await openConsole();
    await signIn(page, `pk_${randomUUID()}`);
    expect(await waitForText(page, '#sign-in-error', /not recognised/)).toMatch(/mistyped, revoked or expired/);
    await signIn(page, clientKey);
    expect(await waitForText(page, '#sign-in-error', /client key/)).toBe('This is a client key. The console is for compliance officers: sign in with a compliance key.');
    expect(await page.$eval('#queue', (el) => (el as any).hidden)).toBe(true);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await closePage(page);
  });

  test('an officer signs in, finds the held payout in the queue, opens it, releases it with a reason and sees it complete', async () => {
    const maker = httpClient(app.url, await createKey(app.db, 'admin'));
    const officerKey = await createKey(app.db, 'compliance');
    const payout = await heldPayout(maker, { amount: '12000.00', holder: 'Ada Lovelace Trading Ltd', beneficiary: 'Analytical Engines GmbH' });
    // Long names and a large amount: the layout must hold.
    const wide = await heldPayout(maker, {
      amount: '98765432.10',
      holder: `Internationale Handels- und Verwaltungsgesellschaft für Grenzüberschreitende Zahlungsdienste ${digits(4)}`,
      beneficiary: `Beneficiary${'W'.repeat(120)}${digits(4)}`,
    });

    // The queue's order: newest first puts the later hold ahead of the earlier one, oldest first behind it.
    const officer = httpClient(app.url, officerKey);
    for (const [order, first] of [['desc', wide.id], ['asc', payout.id]] as const) {
      const ids = (await officer.get(`/v1/compliance/holds?status=pending&order=${order}&limit=200`)).body.data.map((x: any) => x.id);
      expect(ids.filter((id: string) => id === payout.id || id === wide.id)[0]).toBe(first);
    }

    const page = await openConsole();
    await signIn(page, officerKey);
    await page.waitForSelector('#queue', { visible: true });
    await page.select('#order', 'desc');
    const row = `#holds tr[data-id="${payout.id}"]`;
    await page.waitForSelector(row, { timeout: 30_000 });
    await page.waitForSelector(`#holds tr[data-id="${wide.id}"]`, { timeout: 30_000 });
    const rowText = await text(page, row);
    expect(rowText).toContain('12,000.00 USD');
    expect(rowText).toContain('Ada Lovelace Trading Ltd');
    expect(rowText).toContain('Analytical Engines GmbH');
    expect(rowText).toContain('Large amount review');
    expect(await text(page, `#holds tr[data-id="${wide.id}"]`)).toContain('98,765,432.10 USD');
    // Nothing pushes the page sideways at a laptop's width.
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    // The key is in this tab's sessionStorage, never in the address.
    expect(page.url()).not.toContain(officerKey);
    await page.screenshot({ path: path.join(shots, 'console.png') });

    // Open the case from the keyboard.
    await page.focus(`${row} a`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#decide', { visible: true });
    await page.waitForSelector('#audit h3');
    expect(await text(page, '#case-body')).toContain('Large amount review');
    expect(await text(page, '#case-body')).toContain('Large amount review (amount_threshold) v');
    const workflowLink = await page.$eval('#case-body a[href*="/workflows/"]', (a) => a.getAttribute('href'));
    expect(workflowLink).toBe(`${TEMPORAL_UI}/namespaces/default/workflows/payout-${payout.id}`);

    // The reason is mandatory.
    await page.click('#decide button.release');
    expect(await waitForText(page, '#decide-error', /reason/)).toMatch(/Give the reason/);
    await page.type('#reason', 'Invoice and contract checked against the beneficiary.');
    await page.click('#decide button.release');
    expect(await waitForText(page, '#decide-message', /Outcome: completed/)).toMatch(/^Released\. Outcome: completed/);
    await waitForText(page, '#case-status', /completed/);
    await waitForText(page, '#audit', /accepted/);
    expect(await text(page, '#audit')).toContain('Invoice and contract checked against the beneficiary.');
    await page.screenshot({ path: path.join(shots, 'console-case.png'), fullPage: true });

    const done = await maker.get(`/v1/payouts/${payout.id}`);
    expect(done.body).toMatchObject({ status: 'completed', response_code: '1' });
    await closePage(page);
  });

  test('maker-checker: an officer whose key was minted by the payout’s maker is refused, in words', async () => {
    const k0 = httpClient(app.url, await createKey(app.db, 'admin'));
    const payout = await heldPayout(k0, { amount: '15000.00' });
    const minted = await k0.post('/v1/api-keys', { role: 'compliance', label: 'console officer minted by the maker' });
    expect(minted.status).toBe(201);

    // A link straight to the case: after sign-in the console opens it.
    const page = await openConsole(`#/case/payout/${payout.id}`);
    await signIn(page, minted.body.key);
    await page.waitForSelector('#decide', { visible: true });
    await page.waitForSelector('#audit h3');
    await page.type('#reason', 'Looks fine to me.');
    await page.click('#decide button.release');
    expect(await waitForText(page, '#decide-error', /maker-checker/)).toBe(
      'You cannot decide on this payout: it was created by your key or by a key linked to yours (maker-checker). Another compliance officer has to decide on it.',
    );
    await waitForText(page, '#audit', /refused: maker_checker/);
    expect((await k0.get(`/v1/payouts/${payout.id}`)).body.status).toBe('held');
    await closePage(page);
  });
});
