import type { WorkerOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { MovementActivities, PayoutTiming } from '../../workflows/contract';
import type { Config, RateLimits, TrustProxy, WebhookSettings } from '../config';
import type { ServiceOptions } from '../services';
import { DEFAULT_RETRY_SCHEDULE } from '../webhooks/retry-schedule';

/** What every process role is given: where Postgres and Temporal are, and the domain's settings. */
export type SharedOptions = {
  databaseUrl: string;
  databasePoolMax?: number;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  logger: Logger;
  /** Apply pending migrations first (default). Deployments run the migrate one-shot instead. */
  migrate?: boolean;
  fx: ServiceOptions;
  /** Where this process serves GET /metrics (port 0: any free one); unset, it serves none. Never on the API's port. */
  metrics?: { host: string; port: number };
  /** Webhook delivery: timeout, retry schedule, dispatch interval, where URLs may point (defaults: DEFAULT_WEBHOOK_SETTINGS). */
  webhooks?: WebhookSettings;
};

/** The HTTP API's own options. */
export type ApiOptions = {
  port?: number;
  transferSyncWaitMs: number;
  maxBodyBytes: number;
  /** Requests allowed per window, per key and per client address (src/http/rate-limits.ts). */
  rateLimits: RateLimits;
  /** Which proxies to believe about the client's address and scheme (default: none). */
  trustProxy?: TrustProxy;
  /** How long a compliance hold waits for a decision (passed to each new workflow). */
  complianceHoldTtlSeconds: number;
  payoutTiming: PayoutTiming;
  rail: RailOptions;
  /** The Temporal Web UI's base URL: the compliance console links each case to its workflow there. */
  temporalUiUrl?: string;
};

export type RailOptions = {
  url: string;
  callbackSecret: string;
  /** Where the rail reaches this API; defaults to the address it listens on. */
  publicApiUrl?: string;
  /** How far a callback's signed timestamp may be from now (default 300 s). */
  callbackToleranceSeconds?: number;
};

/** The worker's own options. */
export type WorkerRoleOptions = {
  rail: RailOptions;
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Called when the worker stops on its own: the process should exit rather than accept work nothing runs. */
  onFatal?: (err: unknown) => void;
  /** Tests wrap the real activities (e.g. to simulate a crash after a commit). */
  wrapActivities?: (activities: MovementActivities) => MovementActivities;
};

/** The defaults of the WEBHOOK_* settings (src/config.ts), outside production. */
export const DEFAULT_WEBHOOK_SETTINGS: WebhookSettings = { timeoutMs: 10_000, retry: DEFAULT_RETRY_SCHEDULE, dispatchIntervalMs: 250, urlPolicy: { production: false } };

/**
 * The options that come straight from configuration, shared by `npm start` and the per-role
 * entry points; each adds where Postgres, Temporal and the rail are.
 */
export function optionsFromConfig(config: Config) {
  return {
    databasePoolMax: config.databasePoolMax,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    port: config.port,
    transferSyncWaitMs: config.transferSyncWaitMs,
    maxBodyBytes: config.maxBodyBytes,
    rateLimits: config.rateLimits,
    trustProxy: config.trustProxy,
    fx: { fxRateMaxAgeMs: config.fxRateMaxAgeMs, fxQuoteTtlMs: config.fxQuoteTtlMs },
    complianceHoldTtlSeconds: config.complianceHoldTtlSeconds,
    payoutTiming: config.payoutTiming,
    temporalUiUrl: config.temporal.uiUrl,
    webhooks: config.webhooks,
    metrics: config.metrics.port === 0 ? undefined : { host: config.metrics.host, port: config.metrics.port },
  } satisfies Partial<SharedOptions & ApiOptions>;
}
