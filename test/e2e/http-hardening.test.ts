/**
 * End to end over HTTP: the key is checked before any body is read, large bodies only where and for
 * whom they are allowed, rate limits (failed authentications and requests per client address,
 * requests per key) answering 429 with Retry-After, and the security headers on every response.
 *
 * Two apps: one with the test suite's generous limits (bodies, headers) and one with tiny limits.
 * Both believe X-Forwarded-For from loopback (TRUST_PROXY=loopback), so each test here is a client
 * address of its own and the tests do not share counters.
 */
import net from 'node:net';
import { randomBytes, randomUUID } from 'node:crypto';
import type { Application } from '../../stack/application';
import { createAuthService, type Role } from '../../src/auth/service';
import { createKey, httpClient, startTestApplication, type HttpResponse } from '../support/harness';
import { expectErrorEnvelope } from './helpers';

type App = Application & { url: string };

let app: App;
let limited: App;
let customerId: string;
/** The tiny limits of `limited`: counts per window of WINDOW_SECONDS. */
const WINDOW_SECONDS = 10;
const LIMITS = { windowSeconds: WINDOW_SECONDS, perKey: 5, perAddress: 20, failedAuthPerAddress: 3 };

/** A client address of its own (TEST-NET-3), sent as X-Forwarded-For through the trusted loopback proxy. */
let lastAddress = 0;
const freshAddress = () => `203.0.113.${++lastAddress}`;

/** A client at `address`: every request carries X-Forwarded-For. */
function clientAt(base: App, address: string, key?: string) {
  const c = httpClient(base.url, key);
  const headers = (h?: Record<string, string>) => ({ ...h, 'x-forwarded-for': address });
  return {
    get: (path: string, opts: { headers?: Record<string, string>; key?: string | null } = {}) => c.get(path, { ...opts, headers: headers(opts.headers) }),
    post: (path: string, body?: unknown, opts: { headers?: Record<string, string>; key?: string | null } = {}) => c.post(path, body, { ...opts, headers: headers(opts.headers) }),
  };
}

beforeAll(async () => {
  [app, limited] = await Promise.all([
    startTestApplication({ trustProxy: ['loopback'] }),
    startTestApplication({ trustProxy: ['loopback'], rateLimits: LIMITS }),
  ]);
  const admin = httpClient(app.url, await createKey(app.db, 'admin'));
  const customer = await admin.post('/v1/customers', { name: 'Hardening Customer', country: 'GB' });
  expect(customer.status).toBe(201);
  customerId = customer.body.id;
});

afterAll(async () => {
  await Promise.all([app?.stop(), limited?.stop()]);
});

async function keyOf(base: App, role: Role): Promise<{ id: string; key: string }> {
  const created = await createAuthService({ db: base.db }).createKey({ role, customerId: role === 'client' ? customerId : undefined, label: 'hardening' });
  return { id: created.id, key: created.key };
}

type RawResponse = { status: number; headers: Record<string, string>; body: any; ms: number };

/**
 * Sends the request line and headers with `Content-Length: declaredLength` but only `sent` of the
 * body, then waits for an answer. A server that reads the body before answering never answers.
 */
function partialBody(base: App, path: string, headers: Record<string, string>, declaredLength: number, sent: Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  const { port } = new URL(base.url);
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), '127.0.0.1');
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms with ${sent.length} of ${declaredLength} body bytes sent`));
    }, timeoutMs);
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('connect', () => {
      const head = [
        `POST ${path} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        'Content-Type: application/json',
        `Content-Length: ${declaredLength}`,
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
        '',
        '',
      ].join('\r\n');
      socket.write(head);
      socket.write(sent);
    });
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const lines = data.subarray(0, end).toString('latin1').split('\r\n');
      const status = Number(lines[0]?.split(' ')[1]);
      const responseHeaders = Object.fromEntries(
        lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const length = Number(responseHeaders['content-length'] ?? 0);
      if (data.length - end - 4 < length) return;
      clearTimeout(timer);
      socket.destroy();
      const text = data.subarray(end + 4, end + 4 + length).toString('utf8');
      resolve({ status, headers: responseHeaders, body: text ? JSON.parse(text) : undefined, ms: Date.now() - started });
    });
  });
}

/** A JSON body of about `bytes` bytes: a watch-list import whose CSV is padding. */
const bigImport = (bytes: number) => JSON.stringify({ list: 'SDN', csv: 'x'.repeat(bytes) });

async function rawPost(base: App, path: string, raw: string, key?: string): Promise<HttpResponse> {
  return httpClient(base.url, key).request('POST', path, { raw });
}

describe('the key is checked before the body is read', () => {
  const NINE_MB = 9 * 1024 * 1024;

  test('an unauthenticated 9 MB import gets its 401 with only 1 KB of the body sent: the server does not wait for (or buffer) the rest', async () => {
    for (const authorization of [undefined, 'Bearer sk_admin_thisKeyDoesNotExist0123456789']) {
      const res = await partialBody(app, '/v1/compliance/watchlist/import', authorization ? { Authorization: authorization } : {}, NINE_MB, Buffer.from('{"list":"SDN","csv":"' + 'x'.repeat(1000)));
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: '401 Unauthorized', errors: [{ error_code: 'expired_token' }] });
      expect(res.headers['x-request-id']).toBe(res.body.id);
    }
  });

  test('the same for any route: a body is never read for a request without a valid key', async () => {
    const res = await partialBody(app, '/v1/customers', {}, 60_000, Buffer.from('{"name":"'));
    expect(res.status).toBe(401);
    expect(res.body.errors[0].error_code).toBe('expired_token');
  });

  test('a whole 9 MB body without a key, or with a bad one, is a 401 (not a 413)', async () => {
    expectErrorEnvelope(await rawPost(app, '/v1/compliance/watchlist/import', bigImport(NINE_MB)), 401, 'expired_token');
    expectErrorEnvelope(await rawPost(app, '/v1/compliance/watchlist/import', bigImport(NINE_MB), 'sk_admin_thisKeyDoesNotExist0123456789'), 401, 'expired_token');
  });

  test('with a valid key the body is read as before: a partial body is waited for, not refused', async () => {
    const { key } = await keyOf(app, 'admin');
    await expect(partialBody(app, '/v1/customers', { Authorization: `Bearer ${key}` }, 2_000, Buffer.from('{"name":"'), 1_500)).rejects.toThrow(/no answer within/);
  });
});

describe('large bodies: only the watch-list import, only for an admin', () => {
  test('a body declared over its limit for the key\'s role is answered 413 at once, before the rest of it arrives, and the connection closed', async () => {
    const NINE_MB = 9 * 1024 * 1024;
    for (const role of ['compliance', 'client'] as const) {
      const { key } = await keyOf(app, role);
      // 256 KB of a declared 9 MB: a server that waited for the body (as body parsers do) would never answer.
      const res = await partialBody(app, '/v1/compliance/watchlist/import', { Authorization: `Bearer ${key}` }, NINE_MB, Buffer.from('{"list":"SDN","csv":"' + 'x'.repeat(256 * 1024)));
      expect({ role, status: res.status, code: res.body?.errors?.[0]?.error_code }).toEqual({ role, status: 413, code: 'body_too_large' });
      expect(res.headers.connection).toBe('close');
    }
    // Any route held to MAX_BODY_BYTES, for any role.
    const { key } = await keyOf(app, 'admin');
    const res = await partialBody(app, '/v1/customers', { Authorization: `Bearer ${key}` }, 65_537, Buffer.from('{"name":"'));
    expect({ status: res.status, code: res.body?.errors?.[0]?.error_code }).toEqual({ status: 413, code: 'body_too_large' });
  });

  test('a compliance or client key sending a large body to the import route gets 413, not the 10 MB allowance', async () => {
    for (const role of ['compliance', 'client'] as const) {
      const { key } = await keyOf(app, role);
      for (const size of [1024 * 1024, 9 * 1024 * 1024]) {
        const res = await rawPost(app, '/v1/compliance/watchlist/import', bigImport(size), key);
        expectErrorEnvelope(res, 413, 'body_too_large');
        expect({ role, size, code: res.body.code }).toEqual({ role, size, code: '413 Payload Too Large' });
      }
      // A small body reaches the route, which refuses the role as before.
      expectErrorEnvelope(await rawPost(app, '/v1/compliance/watchlist/import', JSON.stringify({ csv: 'x' }), key), 403, 'not_authorized');
    }
  });

  test('an admin gets 413 for a large body anywhere else', async () => {
    const { key } = await keyOf(app, 'admin');
    const big = JSON.stringify({ name: 'x'.repeat(1024 * 1024), country: 'GB' });
    for (const path of ['/v1/customers', '/v1/compliance/watchlist', '/v1/api-keys']) {
      expectErrorEnvelope(await rawPost(app, path, big, key), 413, 'body_too_large');
    }
  });

  test('an admin’s large import body is read and validated (here refused for an unknown field, so nothing is imported)', async () => {
    const { key } = await keyOf(app, 'admin');
    const body = JSON.stringify({ list: 'SDN', csv: 'x'.repeat(2 * 1024 * 1024), unexpected: true });
    expectErrorEnvelope(await rawPost(app, '/v1/compliance/watchlist/import', body, key), 422, 'unknown_field', '#/unexpected');
    // Over 10 MB is too large even for an admin.
    expectErrorEnvelope(await rawPost(app, '/v1/compliance/watchlist/import', bigImport(11 * 1024 * 1024), key), 413, 'body_too_large');
  });
});

describe('rate limits', () => {
  test('a burst of bad keys from one address gets 401 for the first RATE_LIMIT_FAILED_AUTH_PER_ADDRESS, then 429 with Retry-After, even for a valid key', async () => {
    const address = freshAddress();
    const attacker = clientAt(limited, address);
    const burst = await Promise.all(
      Array.from({ length: 15 }, () => attacker.get('/v1/customers/' + randomUUID(), { headers: { authorization: `Bearer sk_admin_${randomBytes(16).toString('hex')}` } })),
    );
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(LIMITS.failedAuthPerAddress);
    expect(statuses.filter((s) => s === 429)).toHaveLength(15 - LIMITS.failedAuthPerAddress);
    for (const res of burst.filter((r) => r.status === 429)) expectRateLimited(res, /failed authentications/);

    // Past the limit the address is refused before its key is looked at: a valid key gets 429 too.
    const { key } = await keyOf(limited, 'admin');
    expectRateLimited(await clientAt(limited, address, key).get('/v1/api-keys'), /failed authentications/);
    // Another address with the same key is served.
    expect((await clientAt(limited, freshAddress(), key).get('/v1/api-keys')).status).toBe(200);
  });

  test('a blocked address is served again once Retry-After has passed', async () => {
    const address = freshAddress();
    const attacker = clientAt(limited, address);
    for (let i = 0; i < LIMITS.failedAuthPerAddress; i++) expectErrorEnvelope(await attacker.get('/v1/api-keys', { headers: { authorization: 'Bearer wrongwrongwrong' } }), 401, 'expired_token');
    const { key } = await keyOf(limited, 'admin');
    const refused = await clientAt(limited, address, key).get('/v1/api-keys');
    expectRateLimited(refused, /failed authentications/);
    await new Promise((r) => setTimeout(r, refused.body.retry_after_seconds * 1000 + 250));
    expect((await clientAt(limited, address, key).get('/v1/api-keys')).status).toBe(200);
  });

  test('one key gets RATE_LIMIT_PER_KEY requests a window, from any address; then 429 with Retry-After', async () => {
    const { key } = await keyOf(limited, 'admin');
    for (let i = 0; i < LIMITS.perKey; i++) {
      // A new address each time: the limit follows the key, not the address.
      expect((await clientAt(limited, freshAddress(), key).get('/v1/api-keys?limit=1')).status).toBe(200);
    }
    const address = freshAddress();
    expectRateLimited(await clientAt(limited, address, key).get('/v1/api-keys?limit=1'), /this API key/);
    // Another key from that same address is served.
    const other = await keyOf(limited, 'compliance');
    expect((await clientAt(limited, address, other.key).get('/v1/compliance/holds')).status).toBe(200);
  });

  test('one address gets RATE_LIMIT_PER_ADDRESS requests a window, whatever the keys; health and readiness are never limited', async () => {
    const address = freshAddress();
    const perKey = LIMITS.perKey;
    for (let i = 0; i < LIMITS.perAddress / perKey; i++) {
      const { key } = await keyOf(limited, 'admin');
      for (let j = 0; j < perKey; j++) expect((await clientAt(limited, address, key).get('/v1/api-keys?limit=1')).status).toBe(200);
    }
    const { key } = await keyOf(limited, 'admin');
    expectRateLimited(await clientAt(limited, address, key).get('/v1/api-keys?limit=1'), /this address/);
    // Without a key too: the address's count comes first.
    expectRateLimited(await clientAt(limited, address).get('/v1/api-keys'), /this address/);
    const health = await clientAt(limited, address).get('/health');
    expect(health.status).toBe(200);
    expect((await clientAt(limited, address).get('/ready')).status).toBe(200);
  });
});

/** 429, the envelope's rate_limited, Retry-After within the window, and the same wait in the envelope and the message. */
function expectRateLimited(res: HttpResponse, message: RegExp): void {
  expect({ status: res.status, code: res.body?.errors?.[0]?.error_code }).toEqual({ status: 429, code: 'rate_limited' });
  expect(res.body).toEqual({
    code: '429 Too Many Requests',
    message: 'Too many requests',
    errors: [{ error_code: 'rate_limited', message: expect.stringMatching(message), path: null }],
    retry_after_seconds: expect.any(Number),
    id: expect.stringMatching(/^req_[0-9a-f]{32}$/),
  });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(retryAfter).toBe(res.body.retry_after_seconds);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(WINDOW_SECONDS);
  expect(res.body.errors[0].message).toContain(`Retry in ${retryAfter} s.`);
}

describe('security headers', () => {
  const expectSecurityHeaders = (res: HttpResponse, what: string) => {
    expect({
      what,
      nosniff: res.headers.get('x-content-type-options'),
      cache: res.headers.get('cache-control'),
      frame: res.headers.get('x-frame-options'),
      csp: res.headers.get('content-security-policy'),
      referrer: res.headers.get('referrer-policy'),
      poweredBy: res.headers.get('x-powered-by'),
      hsts: res.headers.get('strict-transport-security'),
    }).toEqual({
      what,
      nosniff: 'nosniff',
      cache: 'no-store',
      frame: 'SAMEORIGIN',
      csp: "default-src 'none';frame-ancestors 'none'",
      referrer: 'no-referrer',
      poweredBy: null,
      hsts: null,
    });
  };

  test('on every response: successes, errors, the key-creating response, health, unknown routes', async () => {
    const { key } = await keyOf(app, 'admin');
    const admin = httpClient(app.url, key);
    const created = await admin.post('/v1/api-keys', { role: 'compliance', label: 'headers' });
    expect(created.status).toBe(201);
    expectSecurityHeaders(created, 'POST /v1/api-keys (returns a secret)');
    expectSecurityHeaders(await admin.get(`/v1/customers/${customerId}`), 'GET /v1/customers/:id');
    expectSecurityHeaders(await admin.get('/v1/api-keys'), 'GET /v1/api-keys');
    expectSecurityHeaders(await admin.get(`/v1/customers/${randomUUID()}`), '404');
    expectSecurityHeaders(await httpClient(app.url).get('/v1/api-keys'), '401');
    expectSecurityHeaders(await admin.post('/v1/customers', { name: 'x' }), '422');
    expectSecurityHeaders(await httpClient(app.url).get('/health'), '/health');
    expectSecurityHeaders(await httpClient(app.url).get('/nope'), 'unknown route');
  });

  test('HSTS only when the request came over TLS (here: through the trusted proxy, X-Forwarded-Proto: https)', async () => {
    const { key } = await keyOf(app, 'admin');
    const viaTls = await httpClient(app.url, key).get('/v1/api-keys?limit=1', { headers: { 'x-forwarded-proto': 'https' } });
    expect(viaTls.status).toBe(200);
    expect(viaTls.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect((await httpClient(app.url).get('/health', { headers: { 'x-forwarded-proto': 'https' } })).headers.get('strict-transport-security')).toBe(
      'max-age=31536000; includeSubDomains',
    );
    const plain = await httpClient(app.url, key).get('/v1/api-keys?limit=1', { headers: { 'x-forwarded-proto': 'http' } });
    expect(plain.headers.get('strict-transport-security')).toBeNull();
  });
});
