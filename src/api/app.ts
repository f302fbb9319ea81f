import { randomUUID } from 'node:crypto';
import express, { Router, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import { accountRoutes } from '../accounts/routes';
import { authenticate } from '../auth/middleware';
import { apiKeyRoutes } from '../auth/routes';
import { beneficiaryRoutes } from '../beneficiaries/routes';
import { complianceRoutes, WATCHLIST_IMPORT_BODY } from '../compliance/routes';
import type { RateLimits, TrustProxy } from '../config';
import { consoleRoutes } from '../console/routes';
import { customerRoutes } from '../customers/routes';
import { fxRoutes } from '../fx/routes';
import { jsonBodies, requireJsonBody } from '../http/body';
import { errorHandler } from '../http/error-handler';
import { ApiError, HttpErrorCode } from '../http/errors';
import { createRateLimits } from '../http/rate-limits';
import { requestLog } from '../http/request-log';
import { securityHeaders } from '../http/security-headers';
import { httpMetrics } from '../observability/http-metrics';
import { payoutRoutes, railEventRoutes } from '../payouts/routes';
import { pricingRoutes } from '../pricing/routes';
import { isRefusal } from '../refusal';
import type { Services } from '../services';
import { tariffRoutes } from '../tariffs/routes';
import { createTransferPresenter } from '../transfers/presenter';
import { createTransferRecovery } from '../transfers/recovery';
import { transferRoutes } from '../transfers/routes';
import { createTransferWorkflowGateway, type PayoutTiming } from '../transfers/workflow-gateway';
import { createWorkflowSummaries } from '../transfers/workflow-summary';
import type { DeliveryStarter } from '../webhooks/dispatcher';
import { createWebhookEndpointService } from '../webhooks/endpoints';
import { createWebhookHistory } from '../webhooks/history';
import { webhookRoutes } from '../webhooks/routes';
import type { UrlPolicy } from '../webhooks/url-policy';
import { readinessHandler } from './readiness';
import { apiReferenceRoutes } from './reference';
import { refusalAsApiError } from './refusals';

export type AppDeps = {
  services: Services;
  temporal: Client;
  taskQueue: string;
  logger: Logger;
  transferSyncWaitMs: number;
  maxBodyBytes: number;
  /** Requests allowed per window, per key and per client address. */
  rateLimits: RateLimits;
  /** Express's `trust proxy`: which proxies to believe about the client's address and scheme. */
  trustProxy: TrustProxy;
  complianceHoldTtlSeconds: number;
  payoutTiming: PayoutTiming;
  /** Shared with the payout rail, which signs every callback with it (src/rail/signature.ts). */
  railCallbackSecret: string;
  /** How far a callback's signed timestamp may be from now (default 300 s). */
  railCallbackToleranceSeconds?: number;
  /** The Temporal Web UI's base URL, for the compliance console's links to workflows (none: no links). */
  temporalUiUrl?: string;
  /** Where webhook URLs may point, and how a redelivery is started. */
  webhooks: { urlPolicy: UrlPolicy; startDelivery: DeliveryStarter };
};

/**
 * A transfer no workflow has prepared after this long is (re)started by the recovery sweep: long
 * enough for update-with-start to have reached the engine, short enough that a crash costs seconds.
 */
const RECOVERY_MIN_AGE_MS = 5_000;

/**
 * The HTTP API: every route under /v1 requires a bearer key, checked (and rate-limited) before
 * any body is read; errors share one envelope, and a domain's refusal becomes an HTTP answer in
 * one place (src/api/refusals.ts).
 */
export function createApp(deps: AppDeps) {
  const { logger, services } = deps;
  const { db, currencies } = services;
  const gateway = createTransferWorkflowGateway({
    client: deps.temporal,
    taskQueue: deps.taskQueue,
    logger,
    holdTtlSeconds: deps.complianceHoldTtlSeconds,
    payoutTiming: deps.payoutTiming,
    summarize: createWorkflowSummaries({ db, currencies }),
    minorUnits: currencies.minorUnits,
  });
  const recovery = createTransferRecovery({ db, transfers: services.transferRepository, gateway, logger, minAgeMs: RECOVERY_MIN_AGE_MS });
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.set('trust proxy', deps.trustProxy);
  app.use(httpMetrics());
  app.use((req, res, next) => {
    req.requestId = `req_${randomUUID().replace(/-/g, '')}`;
    res.set('X-Request-Id', req.requestId);
    next();
  });
  app.use(securityHeaders());
  app.use(requestLog(logger));

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', readinessHandler({ db, temporal: deps.temporal }));
  app.use(apiReferenceRoutes());
  app.use('/console', consoleRoutes({ temporalUiUrl: deps.temporalUiUrl, namespace: deps.temporal.options.namespace }));
  app.use('/rail', railEventRoutes({ transfers: services.transferRepository, gateway, secret: deps.railCallbackSecret, toleranceSeconds: deps.railCallbackToleranceSeconds }));
  app.use('/v1', v1Routes(deps, gateway));

  app.use((_req: Request, _res: Response) => {
    throw ApiError.of(HttpErrorCode.NotFound, 'No such route.');
  });
  app.use(errorHandler((err) => (isRefusal(err) ? refusalAsApiError(err) : undefined)));
  return { app, recovery };
}

/** Everything under /v1: who is asking comes first, from the headers alone; nothing reads a body until the key is known. */
function v1Routes(deps: AppDeps, gateway: ReturnType<typeof createTransferWorkflowGateway>): Router {
  const { services } = deps;
  const { db, ledger, auth, currencies, customers, accounts, transfers } = services;
  const presenter = createTransferPresenter({ db, currencies });
  const movements = { transfers, gateway, presenter, syncWaitMs: deps.transferSyncWaitMs };
  const endpoints = createWebhookEndpointService({ db, urlPolicy: deps.webhooks.urlPolicy });
  const limits = createRateLimits({ limits: deps.rateLimits, logger: deps.logger });
  const v1 = express.Router();
  v1.use(limits.perAddress);
  v1.use(limits.failedAuthGate);
  v1.use(authenticate(auth, { onFailure: limits.countFailedAuth }));
  v1.use(limits.perKey);
  v1.use(requireJsonBody);
  // Every body is held to MAX_BODY_BYTES, but for the watch-list import of the role that may import one.
  v1.use(jsonBodies({ defaultMaxBytes: deps.maxBodyBytes, allowances: [WATCHLIST_IMPORT_BODY], roleOf: (req) => req.principal?.role }));
  v1.use(apiKeyRoutes({ auth, customerExists: async (id) => (await customers.get(id)) !== undefined }));
  v1.use(customerRoutes({ customers }));
  v1.use(accountRoutes({ accounts, ledger }));
  v1.use(transferRoutes({ ...movements, accounts }));
  v1.use(complianceRoutes({ compliance: services.compliance, holds: services.holds, gateway, presenter, syncWaitMs: deps.transferSyncWaitMs }));
  v1.use(beneficiaryRoutes({ beneficiaries: services.beneficiaries }));
  v1.use(payoutRoutes(movements));
  v1.use(fxRoutes(services));
  v1.use(pricingRoutes(services));
  v1.use(tariffRoutes(services));
  v1.use(webhookRoutes({ customers, endpoints, history: createWebhookHistory({ db, endpoints, startDelivery: deps.webhooks.startDelivery }) }));
  return v1;
}
