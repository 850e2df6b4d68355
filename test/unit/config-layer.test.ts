import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The source tree (this file runs from dist/test/unit/). */
const SRC = path.resolve(__dirname, '..', '..', '..', 'src');
const LOWER_LAYERS = ['collector', 'metrics', 'export', 'attribution'];

/** Every module specifier in a TypeScript file: static imports and re-exports, import() and require(). */
function specifiers(source: string): string[] {
  const patterns = [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s+['"]([^'"]+)['"]/g, /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((m) => m[1]!));
}

function configFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return configFiles(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

test('the specifier scan finds every form of import', () => {
  const found = specifiers([
    "import { a } from '../metrics/a.js';",
    "import type { B } from \"../collector/b\";",
    "export { c } from './c.js';",
    "import '../export/side-effect';",
    "const d = require('../attribution/d');",
    "const e = await import('../metrics/e.js');",
    'import {\n  f,\n  g,\n} from "./multi-line";',
  ].join('\n'));
  assert.deepEqual(found.sort(), [
    '../attribution/d', '../collector/b', '../export/side-effect', '../metrics/a.js', '../metrics/e.js', './c.js', './multi-line',
  ]);
});

test('src/config imports nothing from the layers below it', () => {
  const files = configFiles(path.join(SRC, 'config'));
  assert.ok(files.length >= 3, `found the config sources: ${files.join(', ')}`);
  const violations = files.flatMap((file) =>
    specifiers(readFileSync(file, 'utf8'))
      .filter((spec) => spec.startsWith('.'))
      .filter((spec) => {
        const [top] = path.relative(SRC, path.resolve(path.dirname(file), spec)).split(path.sep);
        return LOWER_LAYERS.includes(top!);
      })
      .map((spec) => `${path.relative(SRC, file)} imports ${spec}`),
  );
  assert.deepEqual(violations, []);
});
