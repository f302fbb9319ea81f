import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import type { Logger } from 'pino';

const PINO_LEVEL: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Sends the Temporal SDK's own logs (worker state, workflow `log` calls) through our logger, warnings
 * and up. With `metrics`, the SDK's worker metrics (task latencies, slots, pollers; `temporal_`
 * prefix) are served for Prometheus at http://host:port/metrics by the SDK itself. The runtime is
 * installed once per process, before any worker or NativeConnection.
 */
export function installTemporalRuntime(logger: Logger, level: LogLevel = 'WARN', metrics?: { host: string; port: number }): void {
  const host = metrics && metrics.host.includes(':') ? `[${metrics.host}]` : metrics?.host;
  try {
    Runtime.install({
      logger: new DefaultLogger(level, (entry) => logger[PINO_LEVEL[entry.level]]({ ...entry.meta, sdk: 'temporal' }, entry.message)),
      ...(metrics ? { telemetryOptions: { metrics: { prometheus: { bindAddress: `${host}:${metrics.port}` } } } } : {}),
    });
  } catch (err) {
    // e.g. "Failed to start prometheus metrics exporter: Address already in use": say which setting.
    if (metrics) throw new Error(`${(err as Error).message} (${host}:${metrics.port}): stop what uses it, or set TEMPORAL_METRICS_PORT to a free port (0: off)`, { cause: err });
    throw err;
  }
}

/** The SDK's worker metrics address from configuration, for a process that runs the worker; undefined when off. */
export function temporalMetricsOf(config: { metrics: { host: string; temporalPort: number } }): { host: string; port: number } | undefined {
  return config.metrics.temporalPort === 0 ? undefined : { host: config.metrics.host, port: config.metrics.temporalPort };
}
