/**
 * How many inputs the property tests try and from which seed, and the committed corpus they
 * replay first. The normal test run is bounded and repeatable (a fixed seed, a few hundred
 * inputs per property); `npm run fuzz` sets SOCKSCOPE_FUZZ_RUNS for a long run from a fresh
 * seed. Either way the seed is printed, and SOCKSCOPE_FUZZ_SEED=<seed> repeats a run.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';

const CI_SEED = 20261203;
const longRuns = Number(process.env.SOCKSCOPE_FUZZ_RUNS ?? 0);
const seed = process.env.SOCKSCOPE_FUZZ_SEED !== undefined ? Number(process.env.SOCKSCOPE_FUZZ_SEED) : longRuns > 0 ? Date.now() % 2 ** 31 : CI_SEED;

/** Parameters for fc.assert: `ciRuns` in the normal test run, SOCKSCOPE_FUZZ_RUNS in `npm run fuzz`. */
export function fuzzParameters(t: TestContext, ciRuns: number): fc.Parameters<unknown> {
  const numRuns = longRuns > 0 ? longRuns : ciRuns;
  t.diagnostic(`fast-check seed ${seed}, ${numRuns} runs (repeat with SOCKSCOPE_FUZZ_SEED=${seed})`);
  return { seed, numRuns };
}

const CORPUS = path.resolve(__dirname, '..', '..', '..', 'test', 'fuzz', 'corpus');

/** Every file of test/fuzz/corpus/<target>/, by name: one input each. */
export function corpusFiles(target: string): Array<{ name: string; text: string }> {
  const dir = path.join(CORPUS, target);
  const names = readdirSync(dir).sort();
  assert.ok(names.length > 0, `the corpus ${dir} is empty`);
  return names.map((name) => ({ name, text: readFileSync(path.join(dir, name), 'utf8') }));
}

/** Every line of every file of test/fuzz/corpus/<target>/, but comments (#) and blank lines: one input each. */
export function corpusLines(target: string): Array<{ where: string; line: string }> {
  return corpusFiles(target).flatMap(({ name, text }) =>
    text.split('\n').flatMap((line, i) => (line === '' || line.startsWith('#') ? [] : [{ where: `${name}:${i + 1}`, line }])),
  );
}

/** Runs `parse`; a throw must be of `errorType` with a one-line message that names what was wrong. */
export function parsesOrFailsCleanly<T>(parse: () => T, errorType: new (...args: never[]) => Error, what: string): T | undefined {
  try {
    return parse();
  } catch (err) {
    assert.ok(err instanceof errorType, `${what}: threw ${String(err)} (${(err as Error)?.constructor?.name}), not a ${errorType.name}`);
    assert.doesNotMatch(err.message, /\n/, `${what}: the message is not one line: ${err.message}`);
    assert.ok(err.message.length > 0 && err.message.length <= 600, `${what}: message of ${err.message.length} characters`);
    return undefined;
  }
}
