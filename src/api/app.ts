import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Logger } from 'pino';
import type { Client } from '@temporalio/client';
import { accountRoutes } from '../accounts/routes';
import { authenticate } from '../auth/middleware';
import { apiKeyRoutes } from '../auth/routes';
import { customerRoutes } from '../customers/routes';
import { createTransferPresenter } from '../transfers/presenter';
import { transferRoutes } from '../transfers/routes';
import { createTransferRecovery } from '../transfers/recovery';
import { createTransferWorkflowGateway, type PayoutTiming } from '../transfers/workflow-gateway';
import { createWorkflowSummaries } from '../transfers/workflow-summary';
import { beneficiaryRoutes } from '../beneficiaries/routes';
import { complianceRoutes } from '../compliance/routes';
import { consoleRoutes } from '../console/routes';
import { payoutRoutes, railEventRoutes } from '../payouts/routes';
import { fxRoutes } from '../fx/routes';
import type { RateLimits, TrustProxy } from '../config';
import type { Services } from '../services';
import { tariffRoutes } from '../tariffs/routes';
import type { DeliveryStarter } from '../webhooks/dispatcher';
import { createWebhookEndpointService } from '../webhooks/endpoints';
import { webhookRoutes } from '../webhooks/routes';
import type { UrlPolicy } from '../webhooks/url-policy';
import { ApiError, ApiErrorCode, errorEnvelope } from './errors';
import { createRateLimits } from './rate-limits';
import { readinessHandler } from './readiness';
import { apiReferenceRoutes } from './reference';
import { securityHeaders } from './security-headers';
import { dependencyUnavailable, unreachableDependency } from './unavailable';
import { httpMetrics } from '../observability/http-metrics';

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
const WATCHLIST_IMPORT_MAX_BYTES = 10 * 1024 * 1024;
const WATCHLIST_IMPORT_ROLE = 'admin';

/**
 * The HTTP API: every route under /v1 requires a bearer key, checked (and rate-limited) before
 * any body is read; errors share one envelope.
 */
export function createApp(deps: AppDeps) {
  const { logger, services } = deps;
  const { db, ledger, auth, currencies, customers, accounts, transfers } = services;
  const gateway = createTransferWorkflowGateway({
    client: deps.temporal,
    taskQueue: deps.taskQueue,
    logger,
    holdTtlSeconds: deps.complianceHoldTtlSeconds,
    payoutTiming: deps.payoutTiming,
    summarize: createWorkflowSummaries({ db, currencies }),
  });
  const presenter = createTransferPresenter({ db, currencies });

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
  app.use(
    pinoHttp({
      logger,
      genReqId: (req) => (req as Request).requestId,
      autoLogging: { ignore: (req) => req.url === '/health' },
      // Set by the routes that create a transfer or payout (src/transfers/routes.ts).
      customProps: (_req, res) => {
        const { transferId, workflowId } = (res as Response).locals ?? {};
        return transferId ? { transferId, workflowId } : {};
      },
    }),
  );

  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', readinessHandler({ db, temporal: deps.temporal }));
  app.use(apiReferenceRoutes());

  app.use('/console', consoleRoutes({ temporalUiUrl: deps.temporalUiUrl, namespace: deps.temporal.options.namespace }));
  app.use('/rail', railEventRoutes({ db, gateway, secret: deps.railCallbackSecret, toleranceSeconds: deps.railCallbackToleranceSeconds }));

  const limits = createRateLimits({ limits: deps.rateLimits, logger });
  const largeJson = express.json({ limit: WATCHLIST_IMPORT_MAX_BYTES, strict: true });
  const v1 = express.Router();
  // Who is asking comes first, from the headers alone: nothing below reads a body until the key is known.
  v1.use(limits.perAddress);
  v1.use(limits.failedAuthGate);
  v1.use(authenticate(auth, { onFailure: limits.countFailedAuth }));
  v1.use(limits.perKey);
  v1.use(requireJsonBody);
  // A watch-list file (the OFAC SDN list is a few MB) is the one body allowed to be large, and only
  // for the role that may import one; anyone else's is held to MAX_BODY_BYTES (413).
  v1.use('/compliance/watchlist/import', (req: Request, res: Response, next: NextFunction) => {
    if (req.principal?.role === WATCHLIST_IMPORT_ROLE) largeJson(req, res, next);
    else next();
  });
  v1.use(express.json({ limit: deps.maxBodyBytes, strict: true }));
  v1.use(apiKeyRoutes({ auth, customers }));
  v1.use(customerRoutes({ customers }));
  v1.use(accountRoutes({ db, accounts, ledger }));
  v1.use(transferRoutes({ transfers, accounts, gateway, presenter, syncWaitMs: deps.transferSyncWaitMs }));
  v1.use(complianceRoutes({ db, compliance: services.compliance, gateway, presenter, currencies, syncWaitMs: deps.transferSyncWaitMs }));
  v1.use(beneficiaryRoutes({ db, customers, currencies }));
  v1.use(payoutRoutes({ db, transfers, gateway, presenter, syncWaitMs: deps.transferSyncWaitMs }));
  v1.use(fxRoutes(services));
  v1.use(tariffRoutes(services));
  v1.use(webhookRoutes({ db, customers, endpoints: createWebhookEndpointService({ db }), urlPolicy: deps.webhooks.urlPolicy, startDelivery: deps.webhooks.startDelivery }));
  app.use('/v1', v1);

  app.use((_req: Request, _res: Response) => {
    throw ApiError.of(ApiErrorCode.NotFound, 'No such route.');
  });
  app.use(errorHandler);
  return { app, recovery };
}

/** Requests that carry a body must say it is JSON. */
function requireJsonBody(req: Request, _res: Response, next: NextFunction) {
  const hasBody = req.headers['transfer-encoding'] !== undefined || Number(req.headers['content-length'] ?? 0) > 0;
  if (hasBody && !req.is('application/json')) {
    throw ApiError.of(ApiErrorCode.UnsupportedMediaType, 'Send the body as application/json.');
  }
  next();
}

/** body-parser's failures, mapped to the envelope's codes. */
function fromBodyParser(err: { type?: string; status?: number }): ApiError | undefined {
  switch (err.type) {
    case 'entity.parse.failed':
      return ApiError.of(ApiErrorCode.MalformedJson, 'The request body is not valid JSON.');
    case 'entity.too.large':
      return ApiError.of(ApiErrorCode.BodyTooLarge, 'The request body is too large.');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return ApiError.of(ApiErrorCode.UnsupportedMediaType, 'Unsupported body encoding.');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'stream.encoding.set':
      return ApiError.of(ApiErrorCode.MalformedJson, 'The request body could not be read.');
    default:
      // Any other 4xx from reading the body, e.g. one that does not decompress as its Content-Encoding says.
      return err.status !== undefined && err.status >= 400 && err.status < 500
        ? ApiError.of(ApiErrorCode.MalformedJson, 'The request body could not be read.')
        : undefined;
  }
}

function errorHandler(err: unknown, req: Request, res: Response, _next: NextFunction) {
  let apiError =
    err instanceof ApiError
      ? err
      : err instanceof URIError // the router could not percent-decode a path parameter: no resource has that path
        ? ApiError.of(ApiErrorCode.NotFound, 'No resource at this path.')
        : fromBodyParser(err as { type?: string; status?: number });
  if (!apiError) {
    const down = unreachableDependency(err);
    if (down) {
      req.log?.warn({ err, down }, 'a dependency is unreachable');
      apiError = dependencyUnavailable(down);
    } else {
      req.log?.error({ err }, 'unhandled error');
      apiError = ApiError.of(ApiErrorCode.InternalError, 'Something went wrong on our side.');
    }
  }
  if (apiError.retryAfterSeconds !== undefined) res.set('Retry-After', String(apiError.retryAfterSeconds));
  res.status(apiError.status).json(errorEnvelope(apiError, req.requestId ?? 'unknown'));
}
