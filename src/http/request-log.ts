/**
 * One log line per request (pino-http), with the request id, and the transfer and workflow a
 * request created when it created one. Of the request's headers only an allow-list is logged:
 * a client may send a secret in any header (a key pasted into a custom header, say), and whoever
 * reads the logs must not find it there.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';

/** The request headers a log line keeps: what helps find a request and its client, and nothing that can carry a secret. */
export const LOGGED_REQUEST_HEADERS = [
  'host',
  'user-agent',
  'accept',
  'content-type',
  'content-length',
  'content-encoding',
  'idempotency-key',
  'x-request-id',
  'x-forwarded-for',
  'x-forwarded-proto',
  'traceparent',
] as const;

function allowedHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> {
  return Object.fromEntries(LOGGED_REQUEST_HEADERS.filter((name) => headers?.[name] !== undefined).map((name) => [name, headers?.[name]]));
}

export function requestLog(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req) => (req as Request).requestId,
    autoLogging: { ignore: (req) => req.url === '/health' },
    // pino-http hands this the request as pino's standard serializer made it, and wraps it in turn.
    serializers: { req: (req: { headers?: Record<string, unknown> }) => ({ ...req, headers: allowedHeaders(req.headers) }) },
    // Set by the routes that create a transfer or payout (src/transfers/routes.ts).
    customProps: (_req: IncomingMessage, res: ServerResponse) => {
      const { transferId, workflowId } = (res as Response).locals ?? {};
      return transferId ? { transferId, workflowId } : {};
    },
  });
}
