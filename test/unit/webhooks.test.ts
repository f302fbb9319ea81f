/** The pure parts of webhooks: where URLs may point, the retry schedule, the event types, the signature. */
import { Webhook } from 'standardwebhooks';
import { loadConfig } from '../../src/config';
import { signatureHeader, newWebhookSecret } from '../../src/webhooks/endpoints';
import { eventTypeFor } from '../../src/webhooks/events';
import { DEFAULT_RETRY_SCHEDULE, retryDelaysSeconds } from '../../src/webhooks/retry-schedule';
import { checkWebhookUrl } from '../../src/webhooks/url-policy';

describe('checkWebhookUrl', () => {
  const production = { production: true };
  const development = { production: false };
  const verdict = (url: string, policy: { production: boolean }) => {
    const v = checkWebhookUrl(url, policy);
    return v.ok ? 'ok' : v.reason;
  };

  test('production: https to a public host only', () => {
    expect(verdict('https://hooks.example.com/payments', production)).toBe('ok');
    expect(verdict('https://93.184.216.34/hook', production)).toBe('ok');
    expect(verdict('http://hooks.example.com/payments', production)).toBe('must use https');
    expect(verdict('http://127.0.0.1:8080/hook', production)).toBe('must use https');
    expect(verdict('https://localhost/hook', production)).toBe('must not point at this machine (localhost)');
    expect(verdict('https://127.0.0.1/hook', production)).toBe('must not point at a loopback address');
  });

  test('development: also http and https to this machine, never to private or link-local networks', () => {
    expect(verdict('http://localhost:4000/hook', development)).toBe('ok');
    expect(verdict('http://127.0.0.1:4000/hook', development)).toBe('ok');
    expect(verdict('http://[::1]:4000/hook', development)).toBe('ok');
    expect(verdict('http://hooks.example.com/', development)).toMatch(/^must use https/);
    expect(verdict('https://10.1.2.3/', development)).toBe('must not point at a private address');
    expect(verdict('https://172.16.0.1/', development)).toBe('must not point at a private address');
    expect(verdict('https://192.168.0.10/', development)).toBe('must not point at a private address');
    expect(verdict('https://169.254.169.254/latest/meta-data', development)).toBe('must not point at a linkLocal address');
    expect(verdict('https://[fe80::1]/', development)).toBe('must not point at a linkLocal address');
    expect(verdict('https://[fd00::1]/', development)).toBe('must not point at a uniqueLocal address');
    expect(verdict('https://[::ffff:10.0.0.1]/', development)).toBe('must not point at a private address');
    expect(verdict('https://0.0.0.0/', development)).toBe('must not point at a unspecified address');
    // IPv4-compatible IPv6 (::127.0.0.1), outside 2000::/3: not public, whatever its embedded address.
    expect(verdict('https://[::127.0.0.1]/', production)).toBe('must not point at a reserved address');
    expect(verdict('https://[2606:4700::1111]/', production)).toBe('ok');
  });

  test('no credentials in the URL, and only http(s)', () => {
    expect(verdict('https://user:secret@hooks.example.com/', production)).toBe('must not carry a user name or password');
    expect(verdict('ftp://hooks.example.com/', production)).toBe('must use https');
    expect(verdict('hooks.example.com/hook', production)).toBe('must be an absolute URL');
  });
});

test('retries back off from 30 s, doubling up to 4 h, for 3 days', () => {
  const delays = retryDelaysSeconds(DEFAULT_RETRY_SCHEDULE);
  expect(delays.slice(0, 10)).toEqual([30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 14400]);
  expect(delays.reduce((a, b) => a + b, 0)).toBe(3 * 24 * 3600);
  expect(Math.max(...delays)).toBe(14400);
  expect(delays).toHaveLength(26);
  expect(retryDelaysSeconds({ initialSeconds: 0.5, maxIntervalSeconds: 1, windowSeconds: 4 })).toEqual([0.5, 1, 1, 1, 0.5]);
});

test('a retry schedule of more than 200 attempts is refused at start-up, naming the variables', () => {
  expect(() => loadConfig({ WEBHOOK_RETRY_MAX_INTERVAL_SECONDS: '60', WEBHOOK_RETRY_WINDOW_SECONDS: '2592000' })).toThrow(
    /WEBHOOK_RETRY_WINDOW_SECONDS \/ WEBHOOK_RETRY_MAX_INTERVAL_SECONDS: about 43202 attempts per delivery; at most 200/,
  );
  expect(loadConfig({}).webhooks.retry).toEqual(DEFAULT_RETRY_SCHEDULE);
});

test('each status a transfer or payout reaches raises its own event type; the rest none', () => {
  expect(eventTypeFor('transfer', 'completed')).toBe('transfer.completed');
  expect(eventTypeFor('transfer', 'released')).toBe('transfer.released');
  expect(eventTypeFor('payout', 'returned')).toBe('payout.returned');
  expect(eventTypeFor('payout', 'sent')).toBe('payout.sent');
  expect(eventTypeFor('transfer', 'sent')).toBeUndefined();
  expect(eventTypeFor('transfer', 'processing')).toBeUndefined();
});

test('the signature is Standard Webhooks: verifiable by its library, with the previous secret too during a rotation', () => {
  const current = newWebhookSecret();
  const previous = newWebhookSecret();
  const at = new Date();
  const body = JSON.stringify({ id: 'evt', type: 'transfer.completed' });
  const headers = (signature: string) => ({ 'webhook-id': 'msg_1', 'webhook-timestamp': String(Math.floor(at.getTime() / 1000)), 'webhook-signature': signature });
  const one = signatureHeader({ secret: current, previous_secret: null, previous_secret_expires_at: null }, 'msg_1', at, body);
  expect(one).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
  expect(new Webhook(current).verify(body, headers(one))).toEqual({ id: 'evt', type: 'transfer.completed' });
  const both = signatureHeader({ secret: current, previous_secret: previous, previous_secret_expires_at: new Date(at.getTime() + 1000) }, 'msg_1', at, body);
  expect(new Webhook(previous).verify(body, headers(both))).toBeTruthy();
  expect(new Webhook(current).verify(body, headers(both))).toBeTruthy();
  const expired = signatureHeader({ secret: current, previous_secret: previous, previous_secret_expires_at: new Date(at.getTime() - 1000) }, 'msg_1', at, body);
  expect(() => new Webhook(previous).verify(body, headers(expired))).toThrow();
});
