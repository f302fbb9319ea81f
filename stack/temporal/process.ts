import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';

/** A Temporal server process (the CLI's dev server, or the server itself) as npm start and the tests hold it. */
export type TemporalServerHandle = {
  address: string;
  uiUrl: string | undefined;
  stop: () => Promise<void>;
  pid: number | undefined;
  /** Settles when the server process exits (for supervision). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
};

export type ServerProcess = {
  child: ChildProcess;
  /** The last 4,000 characters it printed: its own words explain a failed start best. */
  output: () => string;
  exited: TemporalServerHandle['exited'];
};

/** Spawns `binary`, stopped with this process, its output sent line by line to `log` and its last words kept. */
export function spawnServerProcess(
  binary: string,
  args: string[],
  opts: { log?: (line: string) => void; onSpawn?: (stop: () => Promise<void>, pid: number | undefined) => void; cwd?: string },
): ServerProcess {
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd });
  stopWithParent(child);
  opts.onSpawn?.(() => stopChild(child), child.pid);
  const log = opts.log ?? (() => undefined);
  let output = '';
  const capture = (chunk: Buffer) => {
    const text = chunk.toString();
    output = (output + text).slice(-4000);
    for (const line of text.split('\n')) if (line.trim()) log(line);
  };
  child.stdout?.on('data', capture);
  child.stderr?.on('data', capture);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    // A binary that cannot be started (missing, not executable) never exits: it fails to spawn.
    child.once('error', (err) => {
      output += `\n${binary} could not be started: ${err.message}`;
      resolve({ code: null, signal: null });
    });
  });
  return { child, output: () => output, exited };
}

/**
 * Polls the frontend at `address` until `ready` succeeds on a connection to it; stops the process
 * and throws with what it printed when it exits first or the deadline passes.
 */
export async function waitForFrontend(
  server: ServerProcess,
  address: string,
  label: string,
  ready: (connection: Connection) => Promise<unknown>,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = server.child.exitCode !== null || server.child.signalCode !== null;
  void server.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${label} exited during start-up:\n${server.output()}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1000 });
      try {
        await ready(connection);
        return;
      } finally {
        await connection.close();
      }
    } catch {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  await stopChild(server.child);
  throw new Error(`${label} did not become ready on ${address}:\n${server.output()}`);
}

/** If this process exits before stopping the child (killed, or forced by a second Ctrl-C), the child is asked to stop too. */
export function stopWithParent(child: ChildProcess): void {
  const onExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', onExit);
  child.once('exit', () => process.removeListener('exit', onExit));
}

export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
