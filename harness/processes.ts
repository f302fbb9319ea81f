/**
 * Finding the processes `npm start` supervises, from its data folder: the embedded PostgreSQL's
 * postmaster (first line of <DATA_DIR>/postgres/postmaster.pid), the Temporal dev server
 * (<DATA_DIR>/temporal.pid, or the process whose command line names <DATA_DIR>/temporal.db), the
 * rail (<DATA_DIR>/rail.pid) and npm start itself (<DATA_DIR>/npm-start.pid).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { isAlive, TEMPORAL_SERVER_STATE_DIR, TEMPORAL_UI_STATE_DIR } from '../stack/supervision/leftovers';
import { sleep } from './timing';

const run = promisify(execFile);

/** SIGKILL, ignoring a process that is already gone. */
export function sigkill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Waits until `pid` has exited (a zombie counts as gone: see isAlive). */
export async function waitGone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return false;
}

/** The live process a pid file names (its first line), if any. */
function livePidIn(file: string): number | undefined {
  const pid = Number.parseInt(fs.existsSync(file) ? (fs.readFileSync(file, 'utf8').split('\n')[0] ?? '') : '', 10);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

/** Processes whose command line contains `pattern` (pgrep -f; none where pgrep is missing). */
async function pgrep(pattern: string): Promise<number[]> {
  const { stdout } = await run('pgrep', ['-f', pattern]).catch(() => ({ stdout: '' })); // pgrep exits 1 when nothing matches
  return stdout
    .split('\n')
    .map((line) => Number.parseInt(line, 10))
    .filter((pid) => Number.isInteger(pid) && pid !== process.pid);
}

/** The running postmaster of the embedded cluster in `dataDir`, if any. */
export function postmasterPid(dataDir: string): number | undefined {
  return livePidIn(path.join(path.resolve(dataDir), 'postgres', 'postmaster.pid'));
}

/** The running Temporal dev server(s) on `dataDir`'s temporal.db: more than one would be a finding. */
export async function temporalPids(dataDir: string): Promise<number[]> {
  const fromFile = livePidIn(path.join(path.resolve(dataDir), 'temporal.pid'));
  const found = new Set<number>([...(fromFile ? [fromFile] : []), ...(await pgrep(path.join(path.resolve(dataDir), 'temporal.db')))]);
  return [...found].filter(isAlive);
}

/**
 * After the stack stopped: whatever of it still runs. Postgres, the dev server and the Temporal and
 * Web UI servers by their command lines (they name their files in `dataDir`); the rail and npm start by their pid files, only if
 * that pid still runs the same program (a pid file can outlive its process, and the pid be reused).
 */
export async function stackProcesses(dataDir: string): Promise<number[]> {
  const dir = path.resolve(dataDir);
  const byCommand = (await Promise.all(['postgres', 'temporal.db', TEMPORAL_SERVER_STATE_DIR, TEMPORAL_UI_STATE_DIR].map((file) => pgrep(path.join(dir, file))))).flat();
  const byFile: Array<[string, string]> = [
    ['rail.pid', 'stack/rail/main.ts'],
    ['npm-start.pid', 'stack/main.ts'],
  ];
  for (const [file, program] of byFile) {
    const pid = livePidIn(path.join(dir, file));
    if (pid !== undefined && (await pgrep(program)).includes(pid)) byCommand.push(pid);
  }
  return [...new Set(byCommand)].filter(isAlive);
}
