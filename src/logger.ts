import pino, { type Logger } from 'pino';

export function createLogger(level: string, name = 'payments'): Logger {
  return pino({ name, level, redact: ['req.headers.authorization', 'key'] });
}
