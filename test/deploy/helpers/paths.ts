import path from 'node:path';

/** The repository root: this file runs from dist/test/deploy/helpers/. */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..', '..');

export function repoPath(...parts: string[]): string {
  return path.join(REPO_ROOT, ...parts);
}

/** Where this directory's shell helpers live in the source tree (they are not compiled). */
export const DEPLOY_TEST_SOURCE = repoPath('test', 'deploy');
