import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { countCpuList, meminfoDelta, parseMapFdinfo, parseMeminfo } from '../../bench/lib/kernel-memory';
import { budgetBytes, fitLine } from '../../bench/guest/report';

// A per-CPU hash's fdinfo as 6.12 prints it (tabs as the kernel writes them).
const PERCPU_HASH_FDINFO = [
  'pos:\t0',
  'flags:\t02000002',
  'mnt_id:\t15',
  'ino:\t1049',
  'map_type:\t5',
  'key_size:\t16',
  'value_size:\t128',
  'max_entries:\t65536',
  'map_flags:\t0x1',
  'map_extra:\t0x0',
  'memlock:\t1049536',
  'map_id:\t42',
  'frozen:\t0',
  '',
].join('\n');

test('a map fdinfo gives the id, shape and the kernel memlock figure', () => {
  assert.deepEqual(parseMapFdinfo(PERCPU_HASH_FDINFO), {
    id: 42,
    type: 5,
    keySize: 16,
    valueSize: 128,
    maxEntries: 65536,
    memlockBytes: 1049536,
  });
});

test('an fdinfo without map_id (not a map) gives nothing', () => {
  assert.equal(parseMapFdinfo('pos:\t0\nflags:\t02\nmnt_id:\t15\n'), undefined);
});

test('this kernel\'s /proc/meminfo has every field the guest phases read', () => {
  const info = parseMeminfo(readFileSync('/proc/meminfo', 'utf8'));
  for (const [field, kib] of Object.entries(info)) assert.ok(Number.isInteger(kib) && kib >= 0, `${field} = ${kib}`);
  assert.deepEqual(Object.values(meminfoDelta(info, info)), [0, 0, 0, 0, 0]);
});

test('a meminfo without Percpu is named in the error', () => {
  assert.throws(() => parseMeminfo('MemFree: 1 kB\nVmallocUsed: 2 kB\nSlab: 3 kB\nSUnreclaim: 4 kB\n'), /no Percpu line/);
});

test('CPU lists count ranges and singles; anything else is refused by name', () => {
  assert.equal(countCpuList('0-63\n'), 64);
  assert.equal(countCpuList('0'), 1);
  assert.equal(countCpuList('0-3,8,10-11'), 7);
  assert.throws(() => countCpuList('zero'), /not a CPU list: "zero"/);
});

test('the budget is 32 MiB + 0.5 MiB per CPU', () => {
  assert.equal(budgetBytes(2), 33 * 2 ** 20);
  assert.equal(budgetBytes(256), 160 * 2 ** 20);
});

test('the memory line through exact points gives their fixed part and slope', () => {
  const line = fitLine([
    [2, 10 + 2 * 3],
    [16, 10 + 16 * 3],
    [64, 10 + 64 * 3],
  ]);
  assert.ok(Math.abs(line.fixed - 10) < 1e-9 && Math.abs(line.perCpu - 3) < 1e-9, JSON.stringify(line));
});
