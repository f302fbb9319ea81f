import { z } from 'zod';
import { chooseLogFormat, type LogFormat } from './logger';

/**
 * Configuration is read once, from the environment, and validated up front:
 * a typo in a variable fails the process at start-up instead of at the first request.
 */
const EnvSchema = z.object({
  NODE_ENV: z.string().default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Unset: pretty when stdout is a terminal, JSON otherwise (see src/logger.ts). */
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  /** When unset, an embedded PostgreSQL is started (see src/db/embedded-postgres.ts). */
  DATABASE_URL: z.string().url().optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(20),
  /** When unset, the Temporal CLI dev server is started (see src/temporal/dev-server.ts). */
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  /**
   * Without TEMPORAL_ADDRESS, which Temporal npm start runs: `dev`, the CLI's dev server on a SQLite
   * file with its Web UI; `server`, the Temporal server itself on PostgreSQL (src/temporal/server.ts).
   */
  TEMPORAL_ENGINE: z.enum(['dev', 'server']).default('dev'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('payments'),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  TEMPORAL_UI_URL: z.string().url().optional(),
  /** Path to a `temporal` binary; otherwise PATH, then the build cache, then `go install`. */
  TEMPORAL_CLI: z.string().min(1).optional(),
  /** Secret for an admin API key that is created (idempotently) at start-up. */
  ADMIN_API_KEY: z
    .string()
    .regex(/^\S{16,256}$/, 'must be 16-256 characters without spaces (it is sent as a bearer token)')
    .optional(),
  /** How long POST /v1/transfers waits for the workflow's outcome before answering 202. */
  TRANSFER_SYNC_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(5_000),
  /** A transfer is never priced with a market rate older than this (it is declined instead). */
  FX_RATE_MAX_AGE_SECONDS: z.coerce.number().int().min(1).default(3600),
  /** How long a quote locks its price. */
  FX_QUOTE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** How long a compliance hold waits for a decision before it is rejected on its own (default 3 days). */
  COMPLIANCE_HOLD_TTL_SECONDS: z.coerce.number().int().min(1).default(259_200),
  /** The payout rail's base URL; unset, `npm start` runs the simulated rail (src/rail). */
  RAIL_URL: z.string().url().optional(),
  /** HMAC key the rail signs its callbacks with; unset, one is generated into DATA_DIR. */
  RAIL_CALLBACK_SECRET: z.string().min(16).optional(),
  /** How far a rail callback's signed timestamp may be from the API's clock, either way. */
  RAIL_CALLBACK_TOLERANCE_SECONDS: z.coerce.number().int().min(1).max(3600).default(300),
  /** Where the rail reaches the API's /rail/events (defaults to http://127.0.0.1:PORT). */
  PUBLIC_API_URL: z.string().url().optional(),
  /** How often a sent payout asks the rail when no callback came. */
  PAYOUT_SETTLEMENT_CHECK_SECONDS: z.coerce.number().int().min(1).default(60),
  /** How long after settlement a payout can still be returned (default 5 days). */
  PAYOUT_RETURN_WINDOW_SECONDS: z.coerce.number().int().min(1).default(432_000),
  /** Largest JSON body accepted. */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(10_000_000).default(65_536),
  /** The rate limits' window: each count below is per this many seconds. */
  RATE_LIMIT_WINDOW_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  /** Requests per window with one API key. */
  RATE_LIMIT_PER_KEY: z.coerce.number().int().min(1).default(6_000),
  /** Requests per window from one client address (IPv6: its /56), with or without a key. */
  RATE_LIMIT_PER_ADDRESS: z.coerce.number().int().min(1).default(12_000),
  /** Failed authentications per window from one client address; past it the address gets 429 before its key is looked at. */
  RATE_LIMIT_FAILED_AUTH_PER_ADDRESS: z.coerce.number().int().min(1).default(30),
  /**
   * Which proxies in front of the API to believe about the client's address (X-Forwarded-For) and
   * scheme (X-Forwarded-Proto): unset or `false` none; a number of hops; or a comma-separated list
   * of addresses, subnets or `loopback`/`linklocal`/`uniquelocal`. `true` (every proxy) is refused:
   * any client could then pick the address its limits are counted under.
   */
  TRUST_PROXY: z
    .string()
    .trim()
    .refine((v) => v.toLowerCase() !== 'true', 'trusting every proxy lets any client choose its own address; give the number of proxies or their addresses')
    .refine((v) => /^(false|\d{1,2}|[0-9A-Za-z.:/_-]+(\s*,\s*[0-9A-Za-z.:/_-]+)*)$/i.test(v), 'must be false, a number of hops, or a comma-separated list of addresses or subnets')
    .default('false'),
  /** How long a webhook receiver has to answer one delivery attempt. */
  WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().positive().max(30).default(10),
  /** A failed webhook delivery is tried again after this, then twice as long each time, up to the maximum interval, for the window. */
  WEBHOOK_RETRY_INITIAL_SECONDS: z.coerce.number().positive().default(30),
  WEBHOOK_RETRY_MAX_INTERVAL_SECONDS: z.coerce.number().positive().default(4 * 3600),
  WEBHOOK_RETRY_WINDOW_SECONDS: z.coerce.number().positive().max(30 * 24 * 3600).default(3 * 24 * 3600),
  /** How often each worker looks for new events to deliver. */
  WEBHOOK_DISPATCH_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  DATA_DIR: z.string().min(1).default('.data'),
  /** This process's Prometheus metrics (GET /metrics) are served on this port only, never on PORT; 0 turns them off. */
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9464),
  /** The Temporal SDK's own worker metrics (Prometheus, GET /metrics), in processes that run the worker; 0 turns them off. */
  TEMPORAL_METRICS_PORT: z.coerce.number().int().min(0).max(65535).default(9465),
  /** The address both metrics ports listen on: loopback unless a scraper elsewhere must reach them. */
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
});

export type Config = {
  env: string;
  logLevel: z.infer<typeof EnvSchema>['LOG_LEVEL'];
  logFormat: LogFormat;
  port: number;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  temporal: {
    address: string | undefined;
    engine: 'dev' | 'server';
    namespace: string;
    taskQueue: string;
    uiPort: number;
    uiUrl: string | undefined;
    cliPath: string | undefined;
  };
  adminApiKey: string | undefined;
  transferSyncWaitMs: number;
  fxRateMaxAgeMs: number;
  fxQuoteTtlMs: number;
  complianceHoldTtlSeconds: number;
  rail: { url: string | undefined; callbackSecret: string | undefined; publicApiUrl: string | undefined; callbackToleranceSeconds: number };
  payoutTiming: { settlementCheckSeconds: number; returnWindowSeconds: number };
  webhooks: WebhookSettings;
  maxBodyBytes: number;
  rateLimits: RateLimits;
  trustProxy: TrustProxy;
  dataDir: string;
  /** Ports 0: off. */
  metrics: { host: string; port: number; temporalPort: number };
};

/** Requests allowed per window; see src/api/rate-limits.ts. */
export type RateLimits = { windowSeconds: number; perKey: number; perAddress: number; failedAuthPerAddress: number };
/** Express's `trust proxy` setting: no proxy, a number of hops, or the proxies' addresses. */
export type TrustProxy = false | number | string[];

function trustProxyOf(value: string): TrustProxy {
  if (value.toLowerCase() === 'false') return false;
  if (/^\d+$/.test(value)) return Number(value);
  return value.split(',').map((v) => v.trim());
}

/**
 * Webhook delivery settings (src/webhooks/): the attempt timeout, the retry schedule
 * (retry-schedule.ts), the dispatcher's interval, and where URLs may point (url-policy.ts).
 */
export type WebhookSettings = {
  timeoutMs: number;
  retry: { initialSeconds: number; maxIntervalSeconds: number; windowSeconds: number };
  dispatchIntervalMs: number;
  urlPolicy: { production: boolean };
};

/** A delivery's attempts are kept in its workflow's history: a schedule of more is refused at start-up. */
const MAX_WEBHOOK_ATTEMPTS = 200;

export function loadConfig(env: NodeJS.ProcessEnv = process.env, stdoutIsTty: boolean = process.stdout.isTTY === true): Config {
  // An empty variable (e.g. `ADMIN_API_KEY=` from docker-compose) means unset.
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid configuration:\n${problems}`);
  }
  const e = parsed.data;
  // Every delay of a delivery's schedule travels in its workflow's input, and every attempt is in its history: keep them few.
  const attempts = Math.ceil(e.WEBHOOK_RETRY_WINDOW_SECONDS / e.WEBHOOK_RETRY_MAX_INTERVAL_SECONDS) + Math.ceil(Math.log2(Math.max(1, e.WEBHOOK_RETRY_MAX_INTERVAL_SECONDS / e.WEBHOOK_RETRY_INITIAL_SECONDS))) + 1;
  if (attempts > MAX_WEBHOOK_ATTEMPTS) {
    throw new Error(
      `Invalid configuration:\n  WEBHOOK_RETRY_WINDOW_SECONDS / WEBHOOK_RETRY_MAX_INTERVAL_SECONDS: about ${attempts} attempts per delivery; at most ${MAX_WEBHOOK_ATTEMPTS} (raise the interval or shorten the window)`,
    );
  }
  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    logFormat: chooseLogFormat(e.LOG_FORMAT, stdoutIsTty),
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    temporal: {
      address: e.TEMPORAL_ADDRESS,
      engine: e.TEMPORAL_ENGINE,
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.TEMPORAL_TASK_QUEUE,
      uiPort: e.TEMPORAL_UI_PORT,
      uiUrl: e.TEMPORAL_UI_URL,
      cliPath: e.TEMPORAL_CLI,
    },
    adminApiKey: e.ADMIN_API_KEY,
    transferSyncWaitMs: e.TRANSFER_SYNC_WAIT_MS,
    fxRateMaxAgeMs: e.FX_RATE_MAX_AGE_SECONDS * 1000,
    fxQuoteTtlMs: e.FX_QUOTE_TTL_SECONDS * 1000,
    complianceHoldTtlSeconds: e.COMPLIANCE_HOLD_TTL_SECONDS,
    rail: { url: e.RAIL_URL, callbackSecret: e.RAIL_CALLBACK_SECRET, publicApiUrl: e.PUBLIC_API_URL, callbackToleranceSeconds: e.RAIL_CALLBACK_TOLERANCE_SECONDS },
    payoutTiming: { settlementCheckSeconds: e.PAYOUT_SETTLEMENT_CHECK_SECONDS, returnWindowSeconds: e.PAYOUT_RETURN_WINDOW_SECONDS },
    webhooks: {
      timeoutMs: e.WEBHOOK_TIMEOUT_SECONDS * 1000,
      retry: { initialSeconds: e.WEBHOOK_RETRY_INITIAL_SECONDS, maxIntervalSeconds: e.WEBHOOK_RETRY_MAX_INTERVAL_SECONDS, windowSeconds: e.WEBHOOK_RETRY_WINDOW_SECONDS },
      dispatchIntervalMs: e.WEBHOOK_DISPATCH_INTERVAL_MS,
      // Production: webhooks only over https to public addresses; elsewhere also http to this machine.
      urlPolicy: { production: e.NODE_ENV === 'production' },
    },
    maxBodyBytes: e.MAX_BODY_BYTES,
    rateLimits: {
      windowSeconds: e.RATE_LIMIT_WINDOW_SECONDS,
      perKey: e.RATE_LIMIT_PER_KEY,
      perAddress: e.RATE_LIMIT_PER_ADDRESS,
      failedAuthPerAddress: e.RATE_LIMIT_FAILED_AUTH_PER_ADDRESS,
    },
    trustProxy: trustProxyOf(e.TRUST_PROXY),
    dataDir: e.DATA_DIR,
    metrics: { host: e.METRICS_HOST, port: e.METRICS_PORT, temporalPort: e.TEMPORAL_METRICS_PORT },
  };
}
