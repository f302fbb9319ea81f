import { optionsFromConfig } from '../../src/process/options';
import { loadConfig } from '../../src/config';
import { temporalMetricsOf } from '../../src/temporal/runtime';

describe('metrics configuration', () => {
  test('defaults: this process on 127.0.0.1:9464, the Temporal SDK on 127.0.0.1:9465', () => {
    const config = loadConfig({});
    expect(config.metrics).toEqual({ host: '127.0.0.1', port: 9464, temporalPort: 9465 });
    expect(optionsFromConfig(config).metrics).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(temporalMetricsOf(config)).toEqual({ host: '127.0.0.1', port: 9465 });
  });

  test('0 turns either off; METRICS_HOST moves both', () => {
    const config = loadConfig({ METRICS_PORT: '0', TEMPORAL_METRICS_PORT: '0', METRICS_HOST: '0.0.0.0' });
    expect(optionsFromConfig(config).metrics).toBeUndefined();
    expect(temporalMetricsOf(config)).toBeUndefined();
    expect(optionsFromConfig(loadConfig({ METRICS_HOST: '0.0.0.0', METRICS_PORT: '9100' })).metrics).toEqual({ host: '0.0.0.0', port: 9100 });
  });

  test.each([['METRICS_PORT', '70000'], ['TEMPORAL_METRICS_PORT', '-1'], ['METRICS_PORT', 'nine']])('%s=%s is refused', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
