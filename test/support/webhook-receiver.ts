/**
 * A webhook receiver for the tests, run as its own process (as a customer's would be): it records
 * every POST to /hooks/:name (headers and raw body) and answers 204, or 503 while a failure count
 * set with PUT /fail/:name {"count": n} lasts. GET /received/:name lists what it recorded.
 * Prints `listening <port>` once it listens.
 */
import http from 'node:http';

type Received = { headers: Record<string, string>; body: string; at: number };
const received = new Map<string, Received[]>();
const failures = new Map<string, number>();

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const [, kind, name = ''] = (req.url ?? '').split('/');
    if (req.method === 'POST' && kind === 'hooks') {
      const left = failures.get(name) ?? 0;
      if (left > 0) {
        failures.set(name, left - 1);
        res.writeHead(503).end('not now');
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
      received.set(name, [...(received.get(name) ?? []), { headers, body, at: Date.now() }]);
      res.writeHead(204).end();
    } else if (req.method === 'PUT' && kind === 'fail') {
      failures.set(name, (JSON.parse(body) as { count: number }).count);
      res.writeHead(204).end();
    } else if (req.method === 'GET' && kind === 'received') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(received.get(name) ?? []));
    } else {
      res.writeHead(404).end();
    }
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`listening ${typeof address === 'object' && address ? address.port : 0}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => server.close(() => process.exit(0)));
