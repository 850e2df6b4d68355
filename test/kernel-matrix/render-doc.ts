/**
 * Writes docs/kernels.md from test/kernel-matrix/results/*.json.
 *
 *   node dist/test/kernel-matrix/render-doc.js [--results <dir>] [--out <file>] [--command <suite>]
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { renderKernelsDoc } from './kernels-doc';
import type { KernelResult } from './result';

/** The repo root, from dist/test/kernel-matrix/ or test/kernel-matrix/. */
const REPO = path.resolve(__dirname, __dirname.includes(`${path.sep}dist${path.sep}`) ? '../../..' : '../..');

export function readResults(dir: string): KernelResult[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as KernelResult);
}

function main(): void {
  const { values } = parseArgs({
    options: {
      results: { type: 'string', default: path.join(REPO, 'test/kernel-matrix/results') },
      out: { type: 'string', default: path.join(REPO, 'docs/kernels.md') },
      command: { type: 'string' },
    },
  });
  const results = readResults(values.results!);
  if (results.length === 0) {
    process.stderr.write(`render-doc: no results in ${values.results}\n`);
    process.exit(1);
  }
  const command = values.command ?? results[0]!.command;
  writeFileSync(
    values.out!,
    renderKernelsDoc(results, { command, regenerate: 'npm run test:kernels' }),
  );
  process.stderr.write(`render-doc: wrote ${path.relative(process.cwd(), values.out!) || values.out} from ${results.length} kernels\n`);
}

if (require.main === module) main();
