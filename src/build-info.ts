/** What this build is, for logs, --version and sockscope_build_info. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PACKAGE_ROOT } from './collector/native-addon';
import type { BuildInfo } from './metrics/sockscope-producer';

export function readBuildInfo(): BuildInfo {
  const pkg = JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return { version: pkg.version, nodeVersion: process.versions.node };
}
