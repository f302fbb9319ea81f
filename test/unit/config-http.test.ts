/** The HTTP hardening settings in src/config.ts: rate limits and TRUST_PROXY. */
import { loadConfig } from '../../src/config';

describe('rate limits and TRUST_PROXY', () => {
  test('defaults: a minute window, generous per key and per address, 30 failed authentications, no proxy trusted', () => {
    const config = loadConfig({});
    expect(config.rateLimits).toEqual({ windowSeconds: 60, perKey: 6000, perAddress: 12_000, failedAuthPerAddress: 30 });
    expect(config.trustProxy).toBe(false);
  });

  test('each limit is configurable', () => {
    const config = loadConfig({ RATE_LIMIT_WINDOW_SECONDS: '10', RATE_LIMIT_PER_KEY: '7', RATE_LIMIT_PER_ADDRESS: '8', RATE_LIMIT_FAILED_AUTH_PER_ADDRESS: '2' });
    expect(config.rateLimits).toEqual({ windowSeconds: 10, perKey: 7, perAddress: 8, failedAuthPerAddress: 2 });
  });

  test.each([
    ['false', false],
    ['1', 1],
    ['loopback', ['loopback']],
    ['10.0.0.0/8, 192.168.1.7,fd00::/8', ['10.0.0.0/8', '192.168.1.7', 'fd00::/8']],
  ])('TRUST_PROXY=%s', (value, expected) => {
    expect(loadConfig({ TRUST_PROXY: value }).trustProxy).toEqual(expected);
  });

  test.each([
    ['TRUST_PROXY', 'true', /TRUST_PROXY: trusting every proxy/],
    ['TRUST_PROXY', 'TRUE', /TRUST_PROXY: trusting every proxy/],
    ['TRUST_PROXY', '10.0.0.1;rm', /TRUST_PROXY: must be false/],
    ['RATE_LIMIT_PER_KEY', '0', /RATE_LIMIT_PER_KEY/],
    ['RATE_LIMIT_FAILED_AUTH_PER_ADDRESS', 'many', /RATE_LIMIT_FAILED_AUTH_PER_ADDRESS/],
    ['RATE_LIMIT_WINDOW_SECONDS', '1.5', /RATE_LIMIT_WINDOW_SECONDS/],
  ])('%s=%s stops the start with a message', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});
