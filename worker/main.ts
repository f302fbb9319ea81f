/** The Temporal worker alone (docker-compose's `worker` service). */
// First: the tracing instrumentations must be in place before express and pg are loaded.
import '../src/observability/tracing-bootstrap';
import { tracingActive } from '../src/observability/tracing';
import { exitOnFailure, runRole } from '../src/process/entry';
import { openSharedResources } from '../src/process/resources';
import { startWorker } from '.';

runRole('worker', async (options, stops) => {
  const shared = await openSharedResources(options, stops);
  await startWorker(shared, {
    ...options,
    onFatal: () => process.exit(1),
    // The image's worker loads the bundle built at image build time (npm run build); unset, workflows/ is bundled at start.
    // With tracing on it is bundled at start too, with the tracing workflow interceptors (the pre-built bundle has none).
    workflowBundle: process.env.WORKFLOW_BUNDLE_PATH && !tracingActive() ? { codePath: process.env.WORKFLOW_BUNDLE_PATH } : undefined,
  }, stops);
  return { metrics: shared.metricsUrl };
}).catch(exitOnFailure);
