import type { Config } from '../../src/config';

/**
 * One sentence for a failed start: what went wrong and, where there is one, the fix. The error's
 * own message comes first (errors raised by this project already name their fix).
 */
export function explainStartUpFailure(err: unknown, config: Config): string {
  if (!(err instanceof Error)) return `an unexpected failure with no detail (${String(err)}); run with LOG_LEVEL=debug to see the children's output.`;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  switch (e.code) {
    case 'EADDRINUSE':
      return `port ${e.port ?? config.port} is already in use (another npm start?): stop what uses it, or set ${e.port !== undefined && e.port === config.metrics.port ? 'METRICS_PORT' : 'PORT'} to a free port.`;
    case 'EACCES':
      return `${e.message}: the user running npm start lacks permission; check the folder's owner and mode, or set DATA_DIR to a folder it can write.`;
    case 'ENOSPC':
      return 'the disk is full: free space and start again.';
    case 'ECONNREFUSED':
      return `${e.message}: nothing answers at ${e.address ?? 'that address'}:${e.port ?? ''}; check DATABASE_URL / TEMPORAL_ADDRESS, or unset them to run the embedded ones.`;
    default:
      break;
  }
  if (/Failed to connect before the deadline|TransportError|tcp connect error/i.test(e.message)) {
    return `${e.message}: the Temporal server at ${config.temporal.address ?? 'the dev server'} cannot be reached; check TEMPORAL_ADDRESS, or unset it to run the dev server.`;
  }
  return e.message;
}
