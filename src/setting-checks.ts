/**
 * Checks of settings that need the metrics contract, which config must not import, or that
 * relate two settings: the command line hands them to the config loader, whose error names
 * key, value and source.
 */
import type { SettingCheck } from './config/load';
import { attributeSelection } from './config/schema';
import { AttributePolicy } from './metrics/attribute-policy';
import { METRICS } from './metrics/definitions';
import { otlpSettingProblem } from './export/otlp-connection';

/** The otlp.* settings whose files are read (and checked) at start-up. */
const OTLP_FILE_KEYS = ['otlp.headersFile', 'otlp.caFile', 'otlp.certFile', 'otlp.keyFile'];

export const SETTING_CHECKS: readonly SettingCheck[] = [
  {
    key: 'metrics.attributes',
    // The first problem only: the error is one line.
    problem: (config) => AttributePolicy.validate(METRICS, attributeSelection(config))[0],
  },
  {
    // Node refuses to create a server whose headers deadline is past its request deadline.
    key: 'prometheus.requestTimeout',
    problem: ({ prometheus: { headersTimeout, requestTimeout } }) =>
      requestTimeout < headersTimeout ? `must be at least prometheus.headersTimeout (${headersTimeout} ms)` : undefined,
  },
  ...OTLP_FILE_KEYS.map((key): SettingCheck => ({ key, problem: (config) => otlpSettingProblem(key, config.otlp) })),
];
