/** Which BPF programs are loaded on the machine, by name, as bpftool reports them. */
import { execFileSync } from 'node:child_process';

export function loadedProgramNames(): string[] {
  const out = execFileSync('bpftool', ['--json', 'prog', 'list'], { encoding: 'utf8' });
  return (JSON.parse(out) as { name?: string }[]).map((p) => p.name ?? '');
}

/**
 * Programs from ebpf/ that are still loaded. bpftool prints the full name from BTF when it
 * has it, else the kernel's copy, cut to 15 characters: accept both.
 */
export function loadedSockscopePrograms(programNames: readonly string[]): string[] {
  const ours = new Set(programNames.flatMap((n) => [n, n.slice(0, 15)]));
  return loadedProgramNames().filter((n) => ours.has(n));
}
