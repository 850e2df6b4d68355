/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by package,
 * so a profile can be quoted in docs/performance.md.
 *
 *   node dist/bench/tools/cpuprofile-top.js FILE.cpuprofile [N=25]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  byFunction: Array<{ name: string; ms: number; percent: number }>;
  byPackage: Array<{ name: string; ms: number; percent: number }>;
}

function packageOf(url: string): string {
  if (url === '') return '(native / VM)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return 'node core';
  const own = /\/dist\/(src\/[^/]+)/.exec(url);
  return own ? `sockscope ${own[1]}` : url;
}

export function summarise(profile: Profile, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    const file = frame.url.replace(/^.*\/(node_modules|dist)\//, '');
    const name = `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}`;
    fn.set(name, (fn.get(name) ?? 0) + us);
    const p = packageOf(frame.url);
    pkg.set(p, (pkg.get(p) ?? 0) + us);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, percent: Math.round((1000 * us) / total) / 10 }));
  return { totalMs: Math.round(total / 1000), byFunction: rank(fn), byPackage: rank(pkg) };
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/tools/cpuprofile-top.js FILE.cpuprofile [N]\n');
    process.exit(2);
  }
  const s = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(process.argv[3] ?? 25));
  process.stdout.write(`total sampled ${s.totalMs} ms\n\nby package:\n`);
  for (const p of s.byPackage) process.stdout.write(`  ${String(p.percent).padStart(5)}%  ${String(p.ms).padStart(8)} ms  ${p.name}\n`);
  process.stdout.write('\nby function (self time):\n');
  for (const f of s.byFunction) process.stdout.write(`  ${String(f.percent).padStart(5)}%  ${String(f.ms).padStart(8)} ms  ${f.name}\n`);
}
