/**
 * One log line per request (pino-http), with the request id, and the transfer and workflow a
 * request created when it created one.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';

export function requestLog(logger: Logger) {
  return pinoHttp({
    logger,
    genReqId: (req) => (req as Request).requestId,
    autoLogging: { ignore: (req) => req.url === '/health' },
    // Set by the routes that create a transfer or payout (src/transfers/routes.ts).
    customProps: (_req: IncomingMessage, res: ServerResponse) => {
      const { transferId, workflowId } = (res as Response).locals ?? {};
      return transferId ? { transferId, workflowId } : {};
    },
  });
}
