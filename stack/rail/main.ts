/** The simulated rail as its own process: `PORT=4100 RAIL_CALLBACK_SECRET=... tsx src/rail/main.ts` (the secret signs its callbacks). */
import { createRailApp } from './server';

const secret = process.env.RAIL_CALLBACK_SECRET;
if (!secret || secret.length < 16) {
  console.error('RAIL_CALLBACK_SECRET (16+ characters) is required');
  process.exit(1);
}
const app = createRailApp({ callbackSecret: secret, log: (m) => console.error(m) });
// Loopback by default; docker-compose sets RAIL_HOST=0.0.0.0 so the worker's container can reach it.
const server = app.listen(Number(process.env.PORT ?? 0), process.env.RAIL_HOST ?? '127.0.0.1', () => {
  const address = server.address();
  // The parent process reads this line to learn the port.
  console.log(`rail listening on ${typeof address === 'object' && address ? address.port : ''}`);
});
// Keep-alive connections would hold server.close() open: drop them, and do not wait for ever.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 2000).unref();
  });
}
