/** The HTTP API alone (docker-compose's `api` service). */
import { runRole } from './process-entry';

runRole('api').catch((err) => {
  console.error(err);
  process.exit(1);
});
