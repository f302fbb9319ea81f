import { spawn } from 'node:child_process';
import path from 'node:path';
import { stopChild, stopWithParent } from '../temporal/process';

export type RailProcess = { url: string; pid: number | undefined; stop: () => Promise<void> };

const ROOT = path.resolve(__dirname, '../..');

/** Runs the simulated payout rail (src/rail/main.ts) as its own process on a free port. */
export async function startRailProcess(opts: {
  callbackSecret: string;
  port?: number;
  log?: (line: string) => void;
  /** Receives the pid as soon as the process exists. */
  onSpawn?: (pid: number | undefined) => void;
  /** The rail keeps payments in memory: losing it mid-run is worth stopping for. */
  onUnexpectedExit?: (err: Error) => void;
}): Promise<RailProcess> {
  // From the compiled build (dist/src/rail/process.js) the rail is dist/src/rail/main.js, run by node itself.
  const args = __filename.endsWith('.js') ? [path.join(__dirname, 'main.js')] : [require.resolve('tsx/cli'), path.join(__dirname, 'main.ts')];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, PORT: String(opts.port ?? 0), RAIL_CALLBACK_SECRET: opts.callbackSecret },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  stopWithParent(child);
  opts.onSpawn?.(child.pid);
  const log = opts.log ?? (() => undefined);
  child.stderr?.on('data', (chunk: Buffer) => log(chunk.toString().trimEnd()));
  let started = false;
  const port = await new Promise<number>((resolve, reject) => {
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGTERM');
      reject(err);
    };
    const timer = setTimeout(() => fail(new Error('the payout rail did not start within 30 s')), 30_000);
    child.once('exit', (code) => {
      if (!started) fail(new Error(`the payout rail exited during start-up (code ${code})`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /rail listening on (\d+)/.exec(chunk.toString());
      if (match && !started) {
        started = true;
        clearTimeout(timer);
        resolve(Number.parseInt(match[1] as string, 10));
      }
    });
  });
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) opts.onUnexpectedExit?.(new Error(`the payout rail exited (code ${code}, signal ${signal})`));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid,
    stop: () => {
      stopping = true;
      return stopChild(child);
    },
  };
}
