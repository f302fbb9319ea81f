/** When traces are on (src/observability/tracing.ts): the standard OTEL_* variables, off by default. */
import { tracingConfigFromEnv } from '../../src/observability/tracing';

test.each([
  [{}, false],
  [{ OTEL_TRACES_EXPORTER: 'otlp' }, true],
  [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, true],
  [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }, true],
  [{ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }, false],
  [{ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }, false],
])('%j: enabled %s', (env, enabled) => {
  expect(tracingConfigFromEnv(env).enabled).toBe(enabled);
});

test('service name: OTEL_SERVICE_NAME, else the default', () => {
  expect(tracingConfigFromEnv({}, 'payments-api').serviceName).toBe('payments-api');
  expect(tracingConfigFromEnv({ OTEL_SERVICE_NAME: 'svc' }).serviceName).toBe('svc');
});

test('an exporter this service does not ship stops it at start', () => {
  expect(() => tracingConfigFromEnv({ OTEL_TRACES_EXPORTER: 'jaeger' })).toThrow(/only "otlp" or "none"/);
});
