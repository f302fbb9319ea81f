/** The HTTP API alone (docker-compose's `api` service). */
// First: the tracing instrumentations must be in place before express and pg are loaded.
import '../observability/tracing-bootstrap';
import { createAuthService } from '../auth/service';
import { exitOnFailure, runRole } from '../process/entry';
import { openSharedResources } from '../process/resources';
import { startApi } from './server';

runRole('api', async (options, stops, { config }) => {
  const shared = await openSharedResources(options, stops);
  const url = await startApi(shared, options, stops);
  if (config.adminApiKey) await createAuthService({ db: shared.db }).ensureAdminKey(config.adminApiKey);
  return { url, metrics: shared.metricsUrl };
}).catch(exitOnFailure);
