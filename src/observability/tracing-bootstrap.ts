/**
 * Imported first by each entry point (before express and pg are loaded, so that their
 * instrumentations can patch them). Reads only the OTEL_* variables; nothing happens when they leave tracing off.
 */
import { startTracing, tracingConfigFromEnv } from './tracing';

export const tracing = startTracing(tracingConfigFromEnv());
