/**
 * Builds the bench's native helpers with the same tools as ebpf/Makefile (clang,
 * bpftool) plus gcc, into dist/bench/native/. Always rebuilt: it takes a second or two
 * and a stale binary would measure the wrong thing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runChild } from './children';

export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
const BENCH_SRC = path.join(REPO_ROOT, 'bench');
const OUT = path.join(REPO_ROOT, 'dist', 'bench', 'native');

export interface NativeTools {
  loadgen: string;
  reaper: string;
  /** BPF loaders: the floor and the hot-path prototypes, each `<loader> <variant>`. */
  floor: string;
  proto: string;
}

const ARCH = process.arch === 'arm64' ? 'arm64' : 'x86';

async function bpfSkeleton(source: string, name: string): Promise<void> {
  const object = path.join(OUT, `${name}.bpf.o`);
  await runChild('clang', [
    '-g', '-O2', '-target', 'bpf', `-D__TARGET_ARCH_${ARCH}`, '-Wall', '-Werror',
    // The floor and the prototypes read the same kernel types as sockscope.
    '-I', path.join(REPO_ROOT, 'ebpf'),
    '-c', source, '-o', object,
  ]);
  const skeleton = await runChild('bpftool', ['gen', 'skeleton', object, 'name', `${name}_bpf`]);
  writeFileSync(path.join(OUT, `${name}.skel.h`), skeleton.stdout);
}

async function gcc(sources: string[], output: string, libs: string[] = []): Promise<void> {
  await runChild('gcc', ['-O2', '-Wall', '-Wextra', '-I', OUT, '-I', path.join(REPO_ROOT, 'ebpf'), ...sources, '-o', output, ...libs]);
}

export async function buildNative(): Promise<NativeTools> {
  mkdirSync(OUT, { recursive: true });
  const tools: NativeTools = {
    loadgen: path.join(OUT, 'loadgen'),
    reaper: path.join(OUT, 'reaper'),
    floor: path.join(OUT, 'floor'),
    proto: path.join(OUT, 'proto'),
  };
  const bpfLibs = ['-lbpf', '-lelf', '-lz'];
  await Promise.all([
    gcc([path.join(BENCH_SRC, 'native', 'loadgen.c')], tools.loadgen),
    gcc([path.join(BENCH_SRC, 'native', 'reaper.c')], tools.reaper),
    bpfSkeleton(path.join(BENCH_SRC, 'floor', 'floor.bpf.c'), 'floor').then(() =>
      gcc([path.join(BENCH_SRC, 'floor', 'floor.c')], tools.floor, bpfLibs),
    ),
    bpfSkeleton(path.join(BENCH_SRC, 'proto', 'proto.bpf.c'), 'proto').then(() =>
      gcc([path.join(BENCH_SRC, 'proto', 'proto.c')], tools.proto, ['-lpthread', ...bpfLibs]),
    ),
  ]);
  return tools;
}
