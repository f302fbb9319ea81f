/** The Temporal worker alone (docker-compose's `worker` service). */
import { runRole } from './process-entry';

runRole('worker').catch((err) => {
  console.error(err);
  process.exit(1);
});
