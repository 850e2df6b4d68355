/**
 * sockscope's seccomp profile, derived from a container runtime's default profile
 * (containers-common / moby format) and written in plain OCI form, which containerd,
 * CRI-O, podman and docker all read. The default profiles allow bpf() and
 * perf_event_open() only with CAP_SYS_ADMIN; sockscope has CAP_BPF and CAP_PERFMON instead.
 *
 * Derivation: keep every unconditional allow of the default profile except the syscalls
 * that need capabilities sockscope never has (mounts, namespaces, reboot, ...) and the
 * ones that would turn CAP_SYS_PTRACE (held for the /proc socket walk) into a way to
 * attach to host processes; keep the argument-filtered rules for a container without
 * CAP_SYS_ADMIN (clone without namespace flags, personality); add bpf and perf_event_open;
 * and allow sockets of the families the daemon uses only: IPv4, IPv6, Unix, and route
 * netlink (glibc's getaddrinfo asks it which address families are configured).
 */

export interface OciSyscallRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: Array<{ index: number; value: number; valueTwo?: number; op: string }>;
}

export interface OciSeccompProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: OciSyscallRule[];
}

interface MobyRule extends OciSyscallRule {
  includes?: { caps?: string[]; arches?: string[]; minKernel?: string };
  excludes?: { caps?: string[]; arches?: string[] };
}

interface MobyProfile {
  defaultAction: string;
  defaultErrnoRet?: number;
  syscalls: MobyRule[];
}

/** Allowed by the default profiles only because a container might hold the capability. */
export const WITHHELD = [
  // CAP_SYS_ADMIN: mounts, namespaces, host names, file handles
  'mount', 'umount', 'umount2', 'mount_setattr', 'move_mount', 'open_tree', 'fsopen', 'fsconfig', 'fsmount',
  'fspick', 'pivot_root', 'unshare', 'setns', 'sethostname', 'setdomainname', 'name_to_handle_at', 'quotactl',
  'quotactl_fd', 'lookup_dcookie', 'fanotify_init', 'syslog', 'chroot', 'acct', 'reboot', 'vhangup',
  'iopl', 'ioperm', 'settimeofday', 'stime', 'clock_settime', 'clock_settime64', 'clock_adjtime', 'clock_adjtime64',
  'adjtimex', 'keyctl', 'add_key', 'request_key',
  // CAP_SYS_PTRACE is held for readlink(/proc/<pid>/fd/*) only, never for these
  'ptrace', 'process_vm_readv', 'process_vm_writev', 'process_madvise', 'pidfd_getfd', 'kcmp',
  // blocked by current runtime defaults too; libuv falls back to its thread pool
  'io_uring_setup', 'io_uring_enter', 'io_uring_register',
  // decided below
  'bpf', 'perf_event_open', 'clone', 'clone3', 'socket',
] as const;

const CLONE_NAMESPACE_FLAGS = 0x7e020000; // CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const AF_NETLINK = 16;
const NETLINK_ROUTE = 0;

function socketRule(domain: number, protocol?: number): OciSyscallRule {
  const args = [{ index: 0, value: domain, valueTwo: 0, op: 'SCMP_CMP_EQ' }];
  if (protocol !== undefined) args.push({ index: 2, value: protocol, valueTwo: 0, op: 'SCMP_CMP_EQ' });
  return { names: ['socket'], action: 'SCMP_ACT_ALLOW', args };
}

export function deriveProfile(defaults: MobyProfile): OciSeccompProfile {
  const withheld = new Set<string>(WITHHELD);
  const allowed = new Set<string>();
  const argumentRules: OciSyscallRule[] = [];
  for (const rule of defaults.syscalls) {
    if (rule.action !== 'SCMP_ACT_ALLOW') continue;
    const caps = rule.includes?.caps ?? [];
    const arches = rule.includes?.arches ?? [];
    if (caps.length > 0 || rule.excludes?.caps?.length) continue;
    if (arches.length > 0 && !arches.some((a) => ['amd64', 'x32', 'x86', 'arm64', 'arm'].includes(a))) continue;
    if (rule.args?.length) {
      argumentRules.push({ names: rule.names, action: rule.action, args: rule.args });
      continue;
    }
    for (const name of rule.names) if (!withheld.has(name)) allowed.add(name);
  }
  allowed.add('bpf');
  allowed.add('perf_event_open');
  return {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
    syscalls: [
      { names: [...allowed].sort(), action: 'SCMP_ACT_ALLOW' },
      ...argumentRules,
      // Threads and processes, but no new namespaces (what the defaults allow without CAP_SYS_ADMIN).
      {
        names: ['clone'],
        action: 'SCMP_ACT_ALLOW',
        args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      },
      socketRule(AF_UNIX),
      socketRule(AF_INET),
      socketRule(AF_INET6),
      socketRule(AF_NETLINK, NETLINK_ROUTE),
      // clone3's flags are in memory, where seccomp cannot look: ENOSYS makes glibc use clone.
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 },
    ],
  };
}

/** The profile as committed: one rule per line, long name lists wrapped, for readable diffs. */
export function formatProfile(profile: OciSeccompProfile, width = 100): string {
  const rule = (r: OciSyscallRule): string => {
    if (r.names.length <= 8) return `    ${JSON.stringify(r).replace(/,"/g, ', "').replace(/":/g, '": ').replace(/\},\{/g, '}, {')}`;
    const lines: string[] = [];
    let line = '      ';
    for (const name of r.names.map((n) => JSON.stringify(n))) {
      if (line.length + name.length + 2 > width) {
        lines.push(line.trimEnd());
        line = '      ';
      }
      line += `${name}, `;
    }
    lines.push(line.replace(/, $/, ''));
    const rest = JSON.stringify({ ...r, names: undefined }).slice(1, -1).replace(/,"/g, ', "').replace(/":/g, '": ');
    return `    {\n      "names": [\n${lines.map((l) => `  ${l}`).join('\n')}\n      ],\n      ${rest}\n    }`;
  };
  return [
    '{',
    `  "defaultAction": ${JSON.stringify(profile.defaultAction)},`,
    ...(profile.defaultErrnoRet === undefined ? [] : [`  "defaultErrnoRet": ${profile.defaultErrnoRet},`]),
    `  "architectures": [${profile.architectures.map((a) => JSON.stringify(a)).join(', ')}],`,
    '  "syscalls": [',
    profile.syscalls.map(rule).join(',\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
}
