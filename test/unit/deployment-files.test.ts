/**
 * The deployment files, checked as far as a machine without a Docker engine allows:
 * - docker-compose.yml against the Compose Specification's JSON schema and dclint's error rules,
 *   and the shape the deployment needs (health checks, replicas, one-shots, maintained images);
 * - the Dockerfile's instructions (multi-stage, `npm ci`, production dependencies, non-root, init);
 * - `npm run build` (what the Dockerfile runs), then the compiled per-role processes started with
 *   plain `node` as the image's commands start them, against the suite's Postgres and Temporal.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DCLinter as Linter } from 'dclint' with { 'resolution-mode': 'import' };
import { parse } from 'yaml';
import { testDatabaseUrl, testRail, testTemporalAddress } from '../support/harness';

// dclint is an ES module with a CommonJS build beside it (its package "exports" has "require").
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { DCLinter } = require('dclint') as { DCLinter: typeof Linter };

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

type Service = {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  restart?: string;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number };
  environment?: Record<string, string>;
};
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

function lint(file: string) {
  const linter = new DCLinter({ rules: {}, quiet: true, debug: false, exclude: [] });
  // Its type declarations import their neighbours without extensions, which ES module resolution cannot follow.
  const results = linter.lintFiles([file], false) as Array<{ messages: Array<{ type: string; line: number; message: string; rule: string }> }>;
  return results.flatMap((r) => r.messages.filter((m) => m.type === 'error').map((m) => `${m.line}: ${m.message} (${m.rule})`));
}

describe('docker-compose.yml', () => {
  it('validates against the Compose Specification schema, with no dclint errors', () => {
    expect(lint(path.join(ROOT, 'docker-compose.yml'))).toEqual([]);
  });

  it('the check does catch a file the Compose Specification refuses', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'compose-check-'));
    try {
      const bad = path.join(dir, 'docker-compose.yml');
      fs.writeFileSync(bad, 'services:\n  api:\n    image: "node:24"\n    healthcheck:\n      tset: ["CMD", "true"]\n');
      expect(lint(bad).join('\n')).toMatch(/tset|additional propert/i);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  // A one-shot runs to completion and others wait for that: it has nothing to report while running.
  const oneShots = Object.keys(services).filter((name) => services[name]?.restart === 'no');

  it('has a health check on every long-running service, and one-shots that others wait for', () => {
    expect(oneShots.sort()).toEqual(['migrate', 'temporal-namespace', 'temporal-schema']);
    for (const [name, service] of Object.entries(services)) {
      if (oneShots.includes(name)) continue;
      expect({ name, disabled: service.healthcheck?.disable === true, test: (service.healthcheck?.test ?? []).length > 1 }).toEqual({ name, disabled: false, test: true });
    }
    for (const service of Object.values(services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services[dependency]).toBeDefined();
        if (condition === 'service_healthy') expect(services[dependency]?.healthcheck).toBeDefined();
        if (oneShots.includes(dependency)) expect(condition).toBe('service_completed_successfully');
      }
    }
    for (const role of ['api', 'worker']) expect(services[role]?.depends_on?.migrate).toEqual({ condition: 'service_completed_successfully' });
    expect(services.temporal?.depends_on?.['temporal-schema']).toEqual({ condition: 'service_completed_successfully' });
  });

  it('runs several API and worker processes', () => {
    expect(services.api?.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(services.worker?.deploy?.replicas).toBeGreaterThanOrEqual(2);
  });

  it('uses images that are maintained, pinned to a version, with Postgres under both the ledger and Temporal', () => {
    for (const [name, service] of Object.entries(services)) {
      const image = service.image ?? '';
      expect({ name, image }).toEqual({ name, image: expect.stringMatching(/^[\w./-]+:[\w.-]+$/) });
      expect(image).not.toMatch(/auto-setup/);
    }
    expect(services.temporal?.image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-ui']?.image).toMatch(/^temporalio\/ui:/);
    expect(services.temporal?.environment).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgres' });
    expect(services.api?.environment?.DATABASE_URL).toMatch(/@postgres:5432\//);
  });

  it('runs every app role from the compiled output with node, never tsx', () => {
    for (const role of ['api', 'worker', 'rail', 'migrate']) {
      const command = services[role]?.command;
      expect(Array.isArray(command) && command[0] === 'node' && /^dist\/.+\.js$/.test(command[1] ?? '')).toBe(true);
      expect(services[role]?.build).toBeDefined();
    }
    expect(read('docker-compose.yml')).not.toMatch(/\btsx\b/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages: string[][] = [];
  for (const line of instructions) {
    if (/^FROM\s/i.test(line)) stages.push([]);
    stages.at(-1)?.push(line);
  }
  const final = stages.at(-1) ?? [];

  it('builds in stages: npm ci with the lock, the compiled build, production dependencies only in the image', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:(\d+)-[\w-]+$/m);
    const major = Number(/^ARG NODE_IMAGE=node:(\d+)/m.exec(dockerfile)?.[1]);
    expect(major % 2).toBe(0); // an LTS line
    expect(major).toBeGreaterThanOrEqual(24);
    expect(instructions.join('\n')).toMatch(/COPY package\.json package-lock\.json/);
    expect(instructions).toContainEqual(expect.stringMatching(/^RUN npm ci\b/));
    expect(instructions).toContainEqual('RUN npm run build');
    expect(instructions).not.toContainEqual(expect.stringMatching(/npm install/));
    expect(instructions.join('\n')).toMatch(/npm ci --omit=dev/);
    expect(final.join('\n')).toMatch(/COPY --from=\w+ \/app\/dist \.\/dist/);
    expect(final.join('\n')).not.toMatch(/COPY (src|workflows|activities|migrations)\b/);
  });

  it('runs as a non-root user under an init that forwards signals, with node on the compiled API', () => {
    expect(final).toContainEqual('USER node');
    expect(final).toContainEqual('ENTRYPOINT ["/usr/bin/tini", "--"]');
    expect(final.join('\n')).toMatch(/apt-get install -y --no-install-recommends tini/);
    expect(final).toContainEqual('CMD ["node", "dist/src/api/main.js"]');
    expect(final.join('\n')).toMatch(/WORKFLOW_BUNDLE_PATH=\/app\/dist\/workflow-bundle\.js/);
  });

  it('keeps local build output and modules out of the build context', () => {
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.data']));
  });
});

describe('the compiled per-role processes start from node', () => {
  // A build of its own beside a link to the project's node_modules, as the image has dist/ beside its own.
  let buildRoot: string;
  let dist: string;
  const children: ChildProcess[] = [];

  beforeAll(() => {
    buildRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-build-'));
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(buildRoot, 'node_modules'), 'dir');
    dist = path.join(buildRoot, 'dist');
    const built = spawnSync(process.execPath, [path.join(ROOT, 'scripts/build.js'), dist], { cwd: ROOT, encoding: 'utf8', timeout: 180_000 });
    if (built.status !== 0) throw new Error(`npm run build failed: ${built.stderr}${built.stdout}`);
  }, 200_000);

  afterAll(() => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    fs.rmSync(buildRoot, { recursive: true, force: true });
  });

  const baseEnv = (taskQueue: string): NodeJS.ProcessEnv => ({
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: testDatabaseUrl(),
    TEMPORAL_ADDRESS: testTemporalAddress(),
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TASK_QUEUE: taskQueue,
    RAIL_URL: testRail().url,
    RAIL_CALLBACK_SECRET: testRail().callbackSecret,
    PORT: '0',
    METRICS_PORT: '0',
    TEMPORAL_METRICS_PORT: '0',
    LOG_FORMAT: 'json',
    LOG_LEVEL: 'info',
  });

  /** Starts `node <file>` from the build's root (the image's WORKDIR) and waits for a line of its output. */
  function start(file: string, env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
    const child = spawn(process.execPath, [file], { cwd: buildRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let output = '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${file} did not start within 60 s:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = ready.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve({ child, match, output: () => output });
        }
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${file} exited (code ${code}) before it started:\n${output}`));
      });
    });
  }

  function stop(child: ChildProcess): Promise<number | null> {
    return new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      child.once('exit', (code) => resolve(code));
      child.kill('SIGTERM');
    });
  }

  const run = (file: string, args: string[], env: NodeJS.ProcessEnv) => spawnSync(process.execPath, [file, ...args], { cwd: buildRoot, env, encoding: 'utf8', timeout: 60_000 });

  it('builds every file the image and docker-compose.yml start, and the workflow bundle', () => {
    for (const role of ['api', 'worker', 'rail', 'migrate']) {
      const file = (services[role]?.command as string[])[1] as string;
      expect(fs.existsSync(path.join(buildRoot, file))).toBe(true);
    }
    expect(fs.existsSync(path.join(buildRoot, 'dist/worker/healthcheck.js'))).toBe(true);
    expect(fs.statSync(path.join(dist, 'workflow-bundle.js')).size).toBeGreaterThan(100_000);
    expect(fs.existsSync(path.join(dist, 'src/console/public/index.html'))).toBe(true);
    expect(fs.readdirSync(path.join(dist, 'migrations')).filter((f) => f.endsWith('.js')).length).toBe(fs.readdirSync(path.join(ROOT, 'migrations')).length);
  });

  it('holds what the API, the worker and the rail run, and none of the local stack (npm start, supervision, the Temporal builds, embedded Postgres)', () => {
    const files = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(dir, e.name)) : [path.relative(dist, path.join(dir, e.name))]));
    expect(files(path.join(dist, 'stack')).sort()).toEqual(['stack/rail/main.js', 'stack/rail/server.js']);
    for (const folder of ['bench', 'chaos', 'harness', 'test', 'scripts']) expect({ folder, built: fs.existsSync(path.join(dist, folder)) }).toEqual({ folder, built: false });
  });

  it('migrate: the compiled migrations are the ones already applied, under the same names', () => {
    const result = run('dist/src/db/migrate-cli.js', ['up'], baseEnv('unused'));
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(/Nothing to do: the schema is current/);
  });

  it('rail: answers /health and exits 0 on SIGTERM', async () => {
    const rail = await start('dist/stack/rail/main.js', { ...process.env, PORT: '0', RAIL_CALLBACK_SECRET: `rail_${randomUUID()}` }, /rail listening on (\d+)/);
    const health = await fetch(`http://127.0.0.1:${rail.match[1]}/health`);
    expect(health.status).toBe(200);
    expect(await stop(rail.child)).toBe(0);
  });

  it('api and worker: the API answers /ready and serves the console, the worker polls with the prebuilt bundle, both exit 0 on SIGTERM', async () => {
    const taskQueue = `test-compiled-${randomUUID().slice(0, 8)}`;
    const [api, worker] = await Promise.all([
      start('dist/src/api/main.js', baseEnv(taskQueue), /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"api started"/),
      start('dist/worker/main.js', { ...baseEnv(taskQueue), WORKFLOW_BUNDLE_PATH: path.join(dist, 'workflow-bundle.js') }, /"msg":"worker started"/),
    ]);
    const url = api.match[1] as string;
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    const consolePage = await fetch(`${url}/console/`);
    expect(consolePage.status).toBe(200);
    expect(await consolePage.text()).toMatch(/<html/i);

    // The worker's container health check: healthy once Temporal has seen this host's worker poll.
    let health = run('dist/worker/healthcheck.js', [], baseEnv(taskQueue));
    for (let i = 0; i < 20 && health.status !== 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      health = run('dist/worker/healthcheck.js', [], baseEnv(taskQueue));
    }
    expect({ status: health.status, stderr: health.stderr }).toEqual({ status: 0, stderr: '' });
    const elsewhere = run('dist/worker/healthcheck.js', [], baseEnv(`${taskQueue}-nobody`));
    expect(elsewhere.status).toBe(1);
    expect(elsewhere.stderr).toMatch(/unhealthy: no worker on .+ has polled task queue/);

    const [apiExit, workerExit] = await Promise.all([stop(api.child), stop(worker.child)]);
    expect({ apiExit, workerExit }).toEqual({ apiExit: 0, workerExit: 0 });
    expect(worker.output()).not.toMatch(/"level":(50|60)/);
  });
});
