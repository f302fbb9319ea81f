import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';
import { traceLogFields } from './observability/tracing';

/** `pretty`: one coloured line per record, for a person at a terminal; `json`: one JSON object per line, for machines. */
export type LogFormat = 'pretty' | 'json';

/** LOG_FORMAT when given; otherwise pretty on a terminal and JSON when stdout is a pipe or a file. */
export function chooseLogFormat(explicit: LogFormat | undefined, stdoutIsTty: boolean | undefined): LogFormat {
  return explicit ?? (stdoutIsTty ? 'pretty' : 'json');
}

export function createLogger(level: string, name = 'payments', format: LogFormat = 'json'): Logger {
  // trace_id/span_id of the active span, when tracing is on (src/observability/tracing.ts).
  const options = { name, level, redact: ['req.headers.authorization', 'key'], mixin: traceLogFields };
  if (format === 'json') return pino(options);
  // In the same thread and synchronous, like pino's own stdout: nothing is lost when the process exits.
  // One line per record (an error's stack still gets its own lines); coloured only on a terminal.
  return pino(options, pretty({ sync: true, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}
