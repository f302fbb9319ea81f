/**
 * The Temporal Web UI as its own server (github.com/temporalio/ui-server, the release the CLI's dev
 * server embeds), for a Temporal that is not the dev server: npm start with TEMPORAL_ENGINE=server.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ensureGoProgram, type GoProgram } from './go-install';
import { spawnServerProcess, stopChild, type TemporalServerHandle } from './process';

export const TEMPORAL_UI_SERVER: GoProgram = {
  label: 'the Temporal Web UI server',
  module: 'github.com/temporalio/ui-server/v2/cmd/server',
  version: 'v2.42.1',
  binary: 'server',
  cacheName: 'temporal-ui-server',
};

export async function ensureTemporalUiServer(log: (msg: string) => void): Promise<string> {
  return ensureGoProgram(TEMPORAL_UI_SERVER, log, 'or set TEMPORAL_UI_URL to a Web UI you run');
}

export type UiServerHandle = Omit<TemporalServerHandle, 'address'>;

/** Serves the Web UI on 127.0.0.1:`port` for the Temporal frontend at `temporalAddress`; resolves once its page answers. */
export async function startTemporalUiServer(opts: {
  binary: string;
  temporalAddress: string;
  port: number;
  namespace: string;
  stateDir: string;
  log?: (line: string) => void;
  onSpawn?: (stop: () => Promise<void>, pid: number | undefined) => void;
}): Promise<UiServerHandle> {
  const configDir = path.join(opts.stateDir, 'config');
  fs.mkdirSync(configDir, { recursive: true });
  // As the CLI's dev server configures its UI (JSON, which YAML reads as it is).
  const config = { temporalGrpcAddress: opts.temporalAddress, host: '127.0.0.1', port: opts.port, enableUi: true, defaultNamespace: opts.namespace, cors: { cookieInsecure: true }, hideLogs: true };
  fs.writeFileSync(path.join(configDir, 'payments.yaml'), JSON.stringify(config, null, 2) + '\n');
  const server = spawnServerProcess(opts.binary, ['--root', path.resolve(opts.stateDir), '--config', 'config', '--env', 'payments', 'start'], { log: opts.log, onSpawn: opts.onSpawn });
  const url = `http://localhost:${opts.port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.child.exitCode !== null || server.child.signalCode !== null) throw new Error(`the Temporal Web UI server exited during start-up:\n${server.output()}`);
    const status = await fetch(`http://127.0.0.1:${opts.port}/`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) break;
    if (Date.now() > deadline) {
      await stopChild(server.child);
      throw new Error(`the Temporal Web UI server did not answer on ${url} within 30 s:\n${server.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { uiUrl: url, stop: () => stopChild(server.child), pid: server.child.pid, exited: server.exited };
}
