/**
 * `TEMPORAL_ENGINE=server npm start`: the Temporal server itself (go.temporal.io/server, built from
 * its Go module by npm test's pretest step) with its state in the embedded PostgreSQL, and the Web UI server in
 * front of it. A transfer completes; the Web UI lists its workflow; the server, SIGKILLed, is
 * restarted by npm start on the same state and the next transfer completes; Ctrl-C leaves nothing
 * running. Its own npm start in a temporary folder, as the chaos test runs one.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { apiClient, sameCurrencyFixtures, type ApiClient } from '../../harness/api';
import { submit } from '../../harness/submit';
import { startStack, type Stack } from '../../harness/stack';
import { stackProcesses, waitGone } from '../../harness/processes';
import { freePort } from '../../stack/net';

let dataDir: string;
let stack: Stack | undefined;
let api: ApiClient | undefined;

afterAll(async () => {
  await api?.close();
  await stack?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('npm start on the Temporal server: transfers complete, the Web UI shows them, a killed server is restarted on its state', async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'payments-engine-'));
  const uiPort = await freePort();
  // Everything npm start runs itself: nothing from outside.
  stack = await startStack({ dataDir, env: { TEMPORAL_ENGINE: 'server', TEMPORAL_UI_PORT: String(uiPort), DATABASE_URL: '', TEMPORAL_ADDRESS: '', RAIL_URL: '', PUBLIC_API_URL: '' } });
  api = apiClient(stack.apiUrl, stack.adminKey, 4, { timeoutMs: 30_000 });

  // The server keeps its state in the service's own PostgreSQL, and was set up with its schema tool.
  const serverPid = Number(fs.readFileSync(path.join(dataDir, 'temporal.pid'), 'utf8'));
  expect(fs.readFileSync(`/proc/${serverPid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['--root', path.join(dataDir, 'temporal-server'), 'start']));

  const [movement] = await sameCurrencyFixtures(api, 1);
  const first = await submit(api, movement as NonNullable<typeof movement>);
  expect(first).toMatchObject({ answer: 201, status: 'completed' });

  // The Web UI server answers, and its API lists the transfer's workflow.
  expect((await fetch(`http://127.0.0.1:${uiPort}/`)).status).toBe(200);
  const listed = (await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowId = "transfer-${first.id}"`)}`)).json()) as {
    executions: Array<{ execution: { workflowId: string }; status: string }>;
  };
  expect(listed.executions.map((e) => [e.execution.workflowId, e.status])).toEqual([[`transfer-${first.id}`, 'WORKFLOW_EXECUTION_STATUS_COMPLETED']]);

  // SIGKILL the server: npm start restarts it on the same databases and port.
  process.kill(serverPid, 'SIGKILL');
  expect(await waitGone(serverPid)).toBe(true);
  const second = await submit(api, movement as NonNullable<typeof movement>, undefined, { whileDown: true });
  expect(second).toMatchObject({ status: 'completed' });
  const restartedPid = Number(fs.readFileSync(path.join(dataDir, 'temporal.pid'), 'utf8'));
  expect(restartedPid).not.toBe(serverPid);
  // The first transfer's workflow survived the restart.
  const history = (await (await fetch(`http://127.0.0.1:${uiPort}/api/v1/namespaces/default/workflows?query=${encodeURIComponent(`WorkflowId = "transfer-${first.id}"`)}`)).json()) as { executions: unknown[] };
  expect(history.executions).toHaveLength(1);

  await api.close();
  api = undefined;
  await stack.stop();
  stack = undefined;
  expect(await stackProcesses(dataDir)).toEqual([]);
}, 300_000);
