/**
 * What is and is not counted, as docs/counting.md claims: sendfile (the splice path)
 * is counted from kernel 6.5, when it started going through sock_sendmsg, and not
 * before (tcp_sendpage); a MSG_PEEK read is not counted, the real read is.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { BpfCollector } from '../../src/collector/bpf-collector';
import { bpfTestOptions, requireBpf } from '../helpers/bpf-gate';
import { uniqueProcessName } from '../helpers/traffic';

const FIXTURE = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'syscall-paths.py');

function kernelAtLeast(major: number, minor: number): boolean {
  const [maj, min] = os.release().split('.').map(Number) as [number, number];
  return maj > major || (maj === major && min >= minor);
}

async function run(mode: 'sendfile' | 'peek') {
  const collector = BpfCollector.start({ mode: 'auto', ringBufferSize: 1 << 22, drainIntervalMillis: 20, maxFlows: 65536 });
  try {
    const name = uniqueProcessName(`ss${mode}`);
    const out = JSON.parse(execFileSync('python3', [FIXTURE, name, mode], { encoding: 'utf8' })) as {
      sent: number;
      received: number;
      peeked: number;
    };
    const mine = (await collector.drain()).filter((f) => f.comm === name && f.transport === 'tcp');
    return {
      out,
      tx: mine.reduce((n, f) => n + f.txBytes, 0),
      rx: mine.reduce((n, f) => n + f.rxBytes, 0),
    };
  } finally {
    collector.close();
  }
}

describe('counted and uncounted syscall paths', bpfTestOptions(), () => {
  test(`sendfile is ${kernelAtLeast(6, 5) ? 'counted (kernel >= 6.5)' : 'not counted (kernel < 6.5)'}`, async () => {
    requireBpf();
    const { out, tx, rx } = await run('sendfile');
    assert.equal(out.sent, 1 << 20);
    assert.equal(rx, out.received, 'the receiving side is counted either way');
    assert.equal(tx, kernelAtLeast(6, 5) ? out.sent : 0);
  });

  test('a MSG_PEEK read is not counted; the read that consumes the data is', async () => {
    requireBpf();
    const { out, tx, rx } = await run('peek');
    assert.equal(out.peeked, 1000);
    assert.equal(tx, 5000);
    assert.equal(rx, 5000);
  });
});
