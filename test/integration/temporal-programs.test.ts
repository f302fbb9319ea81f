/**
 * The Temporal programs the suite runs are built by npm test's pretest step (npm run build:temporal),
 * never by a test: a build takes minutes, and no test's timeout may include one. A fake `go` stands
 * in for the real one (it records its arguments and writes the binary `go install` would), so each
 * case runs in a second, on an empty cache (XDG_CACHE_HOME in a temporary folder).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureTemporalCli } from '../../stack/temporal/cli';
import { TEMPORAL_PROGRAMS } from '../../stack/temporal/build-programs';
import { BUILD_SETTING, goProgramCacheDir } from '../../stack/temporal/go-install';

const run = promisify(execFile);
const ROOT = path.resolve(__dirname, '../..');

let dir: string;
let env: NodeJS.ProcessEnv;
const goCalls = () => (fs.existsSync(path.join(dir, 'go-calls')) ? fs.readFileSync(path.join(dir, 'go-calls'), 'utf8').trim().split('\n').filter(Boolean) : []);

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-go-'));
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  // `go install -v <pkg>@<version>`: names two packages on stderr as it "compiles", then writes $GOBIN/<last element of pkg>.
  fs.writeFileSync(
    path.join(bin, 'go'),
    [
      '#!/bin/sh',
      `echo "$*" >> "${path.join(dir, 'go-calls')}"`,
      'pkg="${3%@*}"',
      'echo "example.com/dep/one" >&2',
      'echo "example.com/dep/two" >&2',
      'printf "#!/bin/sh\\necho built\\n" > "$GOBIN/$(basename "$pkg")"',
      'chmod +x "$GOBIN/$(basename "$pkg")"',
    ].join('\n') + '\n',
    { mode: 0o755 },
  );
  // Only the fake go, and no `temporal` on PATH; the cache in the temporary folder.
  env = { ...process.env, PATH: `${bin}:/usr/bin:/bin`, XDG_CACHE_HOME: path.join(dir, 'cache'), [BUILD_SETTING]: '' };
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the suite runs with building turned off', () => {
  expect(process.env[BUILD_SETTING]).toBe('never');
});

test("npm test's pretest step builds every missing program into the cache, with progress, and builds nothing twice", async () => {
  const step = () => run(process.execPath, [require.resolve('tsx/cli'), 'stack/temporal/build-programs.ts'], { cwd: ROOT, env });
  const first = await step();
  expect(goCalls()).toEqual(TEMPORAL_PROGRAMS.map((p) => `install -v ${p.module}@${p.version}`));
  const labels = ['the Temporal CLI', 'the Temporal server', "the Temporal server's schema tool", 'the Temporal Web UI server'];
  expect(TEMPORAL_PROGRAMS.map((p) => p.label)).toEqual(labels);
  for (const program of TEMPORAL_PROGRAMS) {
    const binary = path.join(dir, 'cache', program.cacheName, program.version, program.binary);
    expect(fs.statSync(binary).mode & 0o111).not.toBe(0);
    expect(first.stderr).toContain(`${program.label}: 2 packages compiled`);
  }
  // Everything is cached now: a second run starts no build.
  await step();
  expect(goCalls()).toHaveLength(TEMPORAL_PROGRAMS.length);
});

test('inside a test a missing program is an error naming the step that builds it, and go is never run', async () => {
  const saved = { ...process.env };
  Object.assign(process.env, { ...env, [BUILD_SETTING]: 'never' });
  try {
    await expect(ensureTemporalCli()).rejects.toThrow(/the Temporal CLI v\d+\.\d+\.\d+ is not built .*npm run build:temporal/is);
    expect(goCalls()).toEqual([]);
    expect(fs.existsSync(goProgramCacheDir(TEMPORAL_PROGRAMS[0]!))).toBe(false);
  } finally {
    process.env = saved;
  }
});
