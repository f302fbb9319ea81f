/**
 * Request logs keep an allow-list of request headers, never the rest: a client that sends a secret
 * in a header of its own (a key sent as `x-rail-secret`, say) must not find it in the logs.
 */
import type { Server } from 'node:http';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import { LOGGED_REQUEST_HEADERS, requestLog } from '../../src/http/request-log';

let server: Server;
let url: string;
const lines: Array<Record<string, any>> = [];

beforeAll(async () => {
  const sink = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const app = express();
  app.use((req, _res, next) => {
    req.requestId = 'req_test';
    next();
  });
  app.use(requestLog(pino({ level: 'info' }, sink)));
  app.post('/echo', (_req, res) => void res.status(204).end());
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('a request line logs the allowed headers and none of the others', async () => {
  const secrets = { authorization: 'Bearer sk_admin_notInTheLogs0000', 'x-rail-secret': 'rail_secret_notInTheLogs', cookie: 'session=notInTheLogs', 'x-api-key': 'notInTheLogsEither' };
  const res = await fetch(`${url}/echo`, { method: 'POST', headers: { ...secrets, 'user-agent': 'log-test/1', 'idempotency-key': 'idem-123', 'content-type': 'application/json' }, body: '{}' });
  expect(res.status).toBe(204);
  await new Promise((resolve) => setTimeout(resolve, 50));
  const line = lines.find((l) => l.req?.url === '/echo');
  expect(line?.req).toMatchObject({ id: 'req_test', method: 'POST', headers: { 'user-agent': 'log-test/1', 'idempotency-key': 'idem-123', 'content-type': 'application/json' } });
  expect(Object.keys(line?.req.headers ?? {}).every((name) => (LOGGED_REQUEST_HEADERS as readonly string[]).includes(name))).toBe(true);
  const logged = JSON.stringify(lines);
  for (const value of Object.values(secrets)) expect(logged).not.toContain(value.split(' ').at(-1));
});
