import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { isAlive } from '../processes';
import path from 'node:path';
import type { Logger } from 'pino';

/**
 * `npm start` owns its data folder: a pid file says which process runs it and which children it
 * started. A process that was SIGKILLed cannot stop its children (the embedded Postgres, the
 * Temporal dev server, the rail): the next start finds them from those files and stops them
 * before starting its own, instead of failing on a locked data folder or a taken port.
 */
const OWNER_FILE = 'npm-start.pid';

export type ChildName = 'temporal' | 'temporal-ui' | 'rail';

/** Under DATA_DIR: the Temporal server's and the Web UI server's configuration (TEMPORAL_ENGINE=server); their command lines name them. */
export const TEMPORAL_SERVER_STATE_DIR = 'temporal-server';
export const TEMPORAL_UI_STATE_DIR = 'temporal-ui';

/**
 * What a leftover's command line must contain (one of), so that a recycled pid is never signalled:
 * Postgres, the dev server and the Temporal and Web UI servers name their files in this data
 * folder; the rail and npm start their programs (`.ts` under tsx, `.js` compiled). Their places
 * before the local stack left src/ are still recognised: an npm start of an older checkout, killed,
 * can have left them running.
 */
function commandMarks(dataDir: string): Record<ChildName | 'postgres' | 'owner', string[]> {
  const dir = path.resolve(dataDir);
  return {
    owner: ['stack/main.', 'src/main.'],
    rail: ['stack/rail/main.', 'src/rail/main.'],
    temporal: [path.join(dir, 'temporal.db'), path.join(dir, TEMPORAL_SERVER_STATE_DIR)],
    'temporal-ui': [path.join(dir, TEMPORAL_UI_STATE_DIR)],
    postgres: [path.join(dir, 'postgres')],
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export { isAlive };

/** The process's command line (/proc on Linux, `ps` elsewhere); undefined when it cannot be read. */
function commandLine(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    try {
      return execFileSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      return undefined;
    }
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and running what one of `marks` says; a process whose command line cannot be read is never assumed ours. */
function runningAs(pid: number | undefined, marks: string[]): pid is number {
  if (pid === undefined || pid === process.pid || !isAlive(pid)) return false;
  const command = commandLine(pid);
  return command !== undefined && marks.some((mark) => command.includes(mark));
}

/** SIGTERM (Postgres: SIGINT, its fast shutdown), then SIGKILL if it is still there after `graceMs`. */
async function stopLeftover(pid: number, signal: NodeJS.Signals, graceMs = 15_000): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone meanwhile */
    }
    while (isAlive(pid)) await sleep(100);
  }
}

export type DataDirClaim = {
  /** Remember a child's pid, so a later start can stop it if this process dies without doing so. */
  recordChild: (name: ChildName, pid: number | undefined) => void;
  /** On a clean shutdown: the folder is free. */
  release: () => void;
};

/**
 * Claims the data folder for this `npm start`: refuses (with the fix) when another live one owns
 * it; otherwise stops what a killed one left running there, then records this process as owner.
 */
export async function claimDataDir(dataDir: string, logger: Logger): Promise<DataDirClaim> {
  const marks = commandMarks(dataDir);
  const ownerFile = path.join(dataDir, OWNER_FILE);
  const owner = readPid(ownerFile);
  if (runningAs(owner, marks.owner)) {
    throw new Error(`npm start is already running on ${path.resolve(dataDir)} (pid ${owner}): stop it first (kill ${owner}), or set DATA_DIR to another folder.`);
  }
  const leftovers: Array<{ what: string; pid: number; signal: NodeJS.Signals }> = [];
  const what: Record<ChildName, string> = { rail: 'the payout rail', temporal: 'the Temporal server', 'temporal-ui': 'the Temporal Web UI server' };
  for (const name of ['rail', 'temporal', 'temporal-ui'] as const) {
    const pid = readPid(path.join(dataDir, `${name}.pid`));
    if (runningAs(pid, marks[name])) leftovers.push({ what: what[name], pid, signal: 'SIGTERM' });
  }
  const postmaster = readPid(path.join(dataDir, 'postgres', 'postmaster.pid'));
  if (runningAs(postmaster, marks.postgres)) leftovers.push({ what: 'PostgreSQL', pid: postmaster, signal: 'SIGINT' });
  for (const leftover of leftovers) {
    logger.warn({ pid: leftover.pid }, `stopping ${leftover.what} (pid ${leftover.pid}), left running by an npm start that did not shut down`);
    await stopLeftover(leftover.pid, leftover.signal);
  }
  fs.writeFileSync(ownerFile, `${process.pid}\n`);
  const childFiles = new Set<string>();
  return {
    recordChild: (name, pid) => {
      if (pid === undefined) return;
      const file = path.join(dataDir, `${name}.pid`);
      fs.writeFileSync(file, `${pid}\n`);
      childFiles.add(file);
    },
    release: () => {
      for (const file of [...childFiles, ownerFile]) fs.rmSync(file, { force: true });
    },
  };
}
