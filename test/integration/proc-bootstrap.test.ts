/**
 * The start-up /proc bootstrap sees sockets in every network namespace, not only its
 * own: in a pod, /proc/net/tcp lists just the pod's sockets.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { bootstrapTcpSockets } from '../../src/collector/proc-sockets';
import { requireRoot, rootTestOptions } from '../helpers/bpf-gate';
import { uniqueProcessName } from '../helpers/traffic';

// Loads no BPF: root (for `ip netns` and other users' /proc), as the daemon has, is enough.
describe('/proc bootstrap across network namespaces', rootTestOptions(), () => {
  test('a listener in another network namespace is found, with its owner', async () => {
    requireRoot();
    const ns = `sockscope-bt-${randomBytes(3).toString('hex')}`;
    const name = uniqueProcessName('ssnetns');
    execFileSync('ip', ['netns', 'add', ns]);
    const child = spawn('ip', [
      'netns', 'exec', ns, 'python3', '-c',
      `import socket,sys\nopen('/proc/self/comm','w').write(${JSON.stringify(name)})\n` +
        `s=socket.socket(); s.bind(('127.0.0.1', 4444)); s.listen(); print('ready', flush=True); sys.stdin.read()`,
    ], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`listener exited ${code}`)));
      });
      const found = bootstrapTcpSockets().sockets.filter((s) => s.owner?.comm === name);
      assert.equal(found.length, 1, 'the listener in the other namespace');
      assert.equal(found[0]!.state, 'LISTEN');
      assert.equal(found[0]!.localPort, 4444);
    } finally {
      child.stdin!.end();
      child.kill();
      execFileSync('ip', ['netns', 'del', ns]);
    }
  });
});
