/**
 * OpenTelemetry traces (off by default). One trace runs from the HTTP request through the Temporal
 * client call, the workflow and each activity (local ones too) down to the SQL statements.
 *
 * On when OTEL_TRACES_EXPORTER=otlp, or when it is unset and OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turns it off.
 * The OTLP/HTTP exporter reads the other standard OTEL_EXPORTER_OTLP_* variables itself.
 *
 * The http/express/pg instrumentations patch those modules when they are first required, so
 * startTracing must run before they are: the entry points import ./tracing-bootstrap first.
 */
import { context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations, type Instrumentation } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, SimpleSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import {
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryWorkflowClientInterceptor,
  makeWorkflowExporter,
} from '@temporalio/interceptors-opentelemetry';
import type { ClientInterceptors } from '@temporalio/client';
import type { WorkerOptions } from '@temporalio/worker';

export type TracingConfig = { enabled: boolean; serviceName: string };

/** Reads the standard OTEL_* variables once; throws on an exporter this service does not ship. */
export function tracingConfigFromEnv(env: NodeJS.ProcessEnv = process.env, defaultServiceName = 'payments'): TracingConfig {
  const serviceName = env.OTEL_SERVICE_NAME || defaultServiceName;
  if ((env.OTEL_SDK_DISABLED ?? '').toLowerCase() === 'true') return { enabled: false, serviceName };
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  if (exporters.length === 0) {
    return { enabled: Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), serviceName };
  }
  if (exporters.includes('none')) return { enabled: false, serviceName };
  const unsupported = exporters.filter((e) => e !== 'otlp');
  if (unsupported.length) throw new Error(`OTEL_TRACES_EXPORTER: only "otlp" or "none" is supported, not "${unsupported.join(',')}"`);
  return { enabled: true, serviceName };
}

type ActiveTracing = { provider: NodeTracerProvider; processor: SpanProcessor; resource: Resource };
let active: ActiveTracing | undefined;

export function tracingActive(): boolean {
  return active !== undefined;
}

/**
 * Registers the global tracer provider and the http/express/pg instrumentations. `exporter`
 * replaces the OTLP exporter (tests pass an in-memory one; spans are then exported one by one).
 * Returns the instrumentations so that a caller whose modules were already loaded can patch them.
 */
export function startTracing(config: TracingConfig, exporter?: SpanExporter): { instrumentations: Instrumentation[]; shutdown: () => Promise<void> } | undefined {
  if (!config.enabled) return undefined;
  if (active) throw new Error('tracing is already started');
  const resource = new Resource({ [ATTR_SERVICE_NAME]: config.serviceName });
  const processor = exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new NodeTracerProvider({ resource, spanProcessors: [processor] });
  provider.register();
  const instrumentations: Instrumentation[] = [
    new HttpInstrumentation({
      // Probes and scrapes are not worth a trace each.
      ignoreIncomingRequestHook: (req) => /^\/(health|ready|metrics)\b/.test(req.url ?? ''),
    }),
    new ExpressInstrumentation(),
    new PgInstrumentation({ requireParentSpan: true }),
  ];
  const unregister = registerInstrumentations({ instrumentations, tracerProvider: provider });
  active = { provider, processor, resource };
  return {
    instrumentations,
    shutdown: async () => {
      unregister();
      await provider.shutdown();
      trace.disable();
      context.disable();
      active = undefined;
    },
  };
}

/** The Temporal client's interceptors: the workflow start carries the caller's span in its headers. */
export function temporalClientInterceptors(): ClientInterceptors | undefined {
  return active ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : undefined;
}

export const WORKFLOW_TRACING_INTERCEPTORS_MODULE = require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors');

/**
 * The worker's part: activity spans (local activities included), the workflow interceptor module
 * (which must also be in a pre-built bundle: see bundleWorkflowCode's workflowInterceptorModules)
 * and the sink through which the workflow sandbox hands its spans to the exporter.
 */
export function temporalWorkerTracing(opts: { prebuiltBundle: boolean }): Pick<WorkerOptions, 'interceptors' | 'sinks'> | undefined {
  if (!active) return undefined;
  return {
    interceptors: {
      activity: [(ctx) => ({ inbound: new OpenTelemetryActivityInboundInterceptor(ctx) })],
      ...(opts.prebuiltBundle ? {} : { workflowModules: [WORKFLOW_TRACING_INTERCEPTORS_MODULE] }),
    },
    sinks: { exporter: makeWorkflowExporter(active.processor, active.resource) },
  };
}

/** pino mixin: the active span's ids on every record logged inside it. */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return traceFlags === undefined ? {} : { trace_id: traceId, span_id: spanId };
}
