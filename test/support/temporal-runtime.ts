// Installs the Temporal SDK runtime with a logger that only reports warnings, once per test process.
import { DefaultLogger, Runtime } from '@temporalio/worker';

try {
  Runtime.install({ logger: new DefaultLogger((process.env.TEST_TEMPORAL_LOG_LEVEL as 'WARN') ?? 'WARN') });
} catch {
  // already installed by an earlier test file in this process
}
