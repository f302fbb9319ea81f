/**
 * `npm run temporal -- <args>` (stack/temporal/cli-wrapper.ts): the project's Temporal CLI against the
 * running stack, here the test suite's Temporal server, found through TEMPORAL_ADDRESS or the address
 * file `npm start` writes into DATA_DIR.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliEnvironment, TEMPORAL_ADDRESS_FILE } from '../../stack/temporal/cli-wrapper';

const root = path.resolve(__dirname, '../..');
const address = process.env.TEST_TEMPORAL_ADDRESS as string;

function run(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const base = { ...process.env };
  for (const name of ['TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'DATA_DIR']) delete base[name];
  const child = spawn(path.join(root, 'node_modules/.bin/tsx'), ['stack/temporal/cli-wrapper.ts', ...args], { cwd: root, env: { ...base, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

function dataDirWithAddress(recorded: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-wrapper-'));
  fs.writeFileSync(path.join(dir, TEMPORAL_ADDRESS_FILE), `${recorded}\n`);
  return dir;
}

describe('npm run temporal', () => {
  it('runs the CLI against TEMPORAL_ADDRESS, in the default namespace, with a clean stdout', async () => {
    const described = await run(['operator', 'namespace', 'describe', '-o', 'json'], { TEMPORAL_ADDRESS: address });
    expect(described.code).toBe(0);
    expect(JSON.parse(described.stdout)).toMatchObject({ namespaceInfo: { name: 'default', state: 'NAMESPACE_STATE_REGISTERED' } });

    const listed = await run(['workflow', 'list', '--limit', '3', '-o', 'json'], { TEMPORAL_ADDRESS: address });
    expect(listed.code).toBe(0);
    expect(Array.isArray(JSON.parse(listed.stdout || '[]'))).toBe(true);
  });

  it('finds the server from the address npm start records in DATA_DIR', async () => {
    const dir = dataDirWithAddress(address);
    try {
      const result = await run(['workflow', 'count'], { DATA_DIR: dir });
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toMatch(/^Total: \d+/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("lets the command's own --namespace win, and exits with the CLI's exit code", async () => {
    const otherNamespace = await run(['workflow', 'list', '--namespace', 'no-such-namespace'], { TEMPORAL_ADDRESS: address });
    expect(otherNamespace.code).not.toBe(0);
    expect(otherNamespace.stderr).toMatch(/no-such-namespace/);

    const missing = await run(['workflow', 'describe', '-w', 'no-such-workflow'], { TEMPORAL_ADDRESS: address });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/not found/i);
  });

  it('fills in the address and namespace only when they are not given', () => {
    const dir = dataDirWithAddress('127.0.0.1:17233');
    try {
      expect(cliEnvironment({ DATA_DIR: dir }).env).toMatchObject({ TEMPORAL_ADDRESS: '127.0.0.1:17233', TEMPORAL_NAMESPACE: 'default' });
      expect(cliEnvironment({ DATA_DIR: dir, TEMPORAL_ADDRESS: 'temporal:7233', TEMPORAL_NAMESPACE: 'payments' }).env).toMatchObject({
        TEMPORAL_ADDRESS: 'temporal:7233',
        TEMPORAL_NAMESPACE: 'payments',
      });
      const none = cliEnvironment({ DATA_DIR: path.join(dir, 'nothing-here') });
      expect(none.env.TEMPORAL_ADDRESS).toBeUndefined();
      expect(none.note).toMatch(/npm start/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
