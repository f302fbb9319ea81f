#!/usr/bin/env node
// `npm run build`: the compiled service that the Docker image runs with plain `node` (no tsx).
//   1. TypeScript to JavaScript (tsconfig.build.json): src, workflows, activities, worker, migrations and
//      the simulated rail's entry (stack/rail) -> dist/
//   2. the console's static files (src/console/public) copied beside their compiled routes
//   3. the Temporal workflow bundle, built once here rather than at every worker start:
//      dist/workflow-bundle.js, which the worker loads when WORKFLOW_BUNDLE_PATH names it.
// `node scripts/build.js OUT_DIR` builds into another folder (the deployment test does).
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const outDir = path.resolve(root, process.argv[2] ?? 'dist');

async function main() {
  fs.rmSync(outDir, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', path.join(root, 'tsconfig.build.json'), '--outDir', outDir], {
    cwd: root,
    stdio: 'inherit',
  });
  fs.cpSync(path.join(root, 'src/console/public'), path.join(outDir, 'src/console/public'), { recursive: true });

  const { bundleWorkflowCode } = require(require.resolve('@temporalio/worker', { paths: [root] }));
  const noop = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.join(outDir, 'workflows/index.js'),
    logger: { trace: noop, debug: noop, info: noop, warn: (m) => console.error(m), error: (m) => console.error(m), log: noop },
  });
  fs.writeFileSync(path.join(outDir, 'workflow-bundle.js'), code);
  console.error(`Built ${outDir} (workflow bundle: ${(code.length / 1024).toFixed(0)} KiB)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
