/** The Temporal worker alone (docker-compose's `worker` service). */
// First: the tracing instrumentations must be in place before express and pg are loaded.
import './observability/tracing-bootstrap';
import { runRole } from './process-entry';

runRole('worker').catch((err) => {
  console.error(err);
  process.exit(1);
});
