/** `npm run docs`: rewrites docs/metrics.md from the definitions. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from '../collector/native-addon';
import { METRICS } from './definitions';
import { renderMetricsDoc } from './metrics-doc';

writeFileSync(path.join(PACKAGE_ROOT, 'docs', 'metrics.md'), renderMetricsDoc(METRICS));
