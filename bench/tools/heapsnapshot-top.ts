/**
 * Summarises a V8 .heapsnapshot: self size and count by constructor (objects) or by
 * node type (strings, arrays, code…), largest first.
 *
 *   node dist/bench/tools/heapsnapshot-top.js FILE.heapsnapshot [N=25]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapRow {
  name: string;
  count: number;
  selfBytes: number;
}

export function summariseHeap(s: Snapshot, top = 25): { totalBytes: number; rows: HeapRow[] } {
  const fields = s.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = s.snapshot.meta.node_types[0];
  const rows = new Map<string, HeapRow>();
  let total = 0;
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + typeAt]!]!;
    const size = s.nodes[i + sizeAt]!;
    const name = type === 'object' || type === 'closure' ? `${type} ${s.strings[s.nodes[i + nameAt]!]}` : `(${type})`;
    const row = rows.get(name) ?? { name, count: 0, selfBytes: 0 };
    row.count += 1;
    row.selfBytes += size;
    rows.set(name, row);
    total += size;
  }
  return { totalBytes: total, rows: [...rows.values()].sort((a, b) => b.selfBytes - a.selfBytes).slice(0, top) };
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node dist/bench/tools/heapsnapshot-top.js FILE.heapsnapshot [N]\\n');
    process.exit(2);
  }
  const { totalBytes, rows } = summariseHeap(JSON.parse(readFileSync(file, 'utf8')) as Snapshot, Number(process.argv[3] ?? 25));
  process.stdout.write(`total self size ${(totalBytes / 1048576).toFixed(1)} MiB\n`);
  for (const r of rows) process.stdout.write(`  ${(r.selfBytes / 1048576).toFixed(2).padStart(8)} MiB  ${String(r.count).padStart(8)}  ${r.name}\n`);
}
