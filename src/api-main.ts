/** The HTTP API alone (docker-compose's `api` service). */
// First: the tracing instrumentations must be in place before express and pg are loaded.
import './observability/tracing-bootstrap';
import { runRole } from './process-entry';

runRole('api').catch((err) => {
  console.error(err);
  process.exit(1);
});
