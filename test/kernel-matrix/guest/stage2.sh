#!/bin/bash
# Stage 2, PID 1 in the guest after switch_root: the root is the host's, read-only under a tmpfs
# overlay, so node, the repo and its build are at their host paths. Mounts what BPF needs, brings
# up loopback, runs the job the host wrote into the share, records its status and powers off.
#
# Share (/run/kernel-matrix, a writable host dir): job.env and job.cmd in; status, facts, results/ out.
share=/run/kernel-matrix
# KERNEL_MATRIX_TRACE=1 on the host: trace this script with uptime stamps into the share.
if [ "${sockscope_trace:-}" = 1 ]; then
  exec {trace_fd}>"$share/stage2.trace"; BASH_XTRACEFD=$trace_fd
  PS4='+ $(read -r up _ < /proc/uptime; echo "$up") '; set -x
fi
say() { echo "kernel-matrix[stage2]: $*"; }

finish() { # finish <status>: hand the status to QEMU through isa-debug-exit (it exits (byte<<1)|1)
  sync
  local byte=$(( $1 == 0 ? 0 : 1 ))
  printf "\\$(printf '%03o' "$byte")" | dd of=/dev/port bs=1 seek=244 count=1 status=none
  echo o > /proc/sysrq-trigger  # only if the port write did not end QEMU
  sleep 60
}
trap 'say "stage 2 died"; finish 1' ERR

# Every exec costs 40-80 ms under TCG, so this script sticks to builtins where it can.
uptime() { local up _; read -r up _ < /proc/uptime; echo "$up"; }
mounted=" $(while read -r _ dir _; do printf '%s ' "$dir"; done < /proc/mounts)"
mountfs() { # mountfs <type> <dir> [options]: a warning, not a failure, if it does not mount
  [[ "$mounted" == *" $2 "* ]] && return 0
  [ -d "$2" ] || mkdir -p "$2"
  mount -t "$1" ${3:+-o "$3"} "$1" "$2" || say "warning: could not mount $1 at $2"
}
mountfs devpts /dev/pts gid=5,mode=620,ptmxmode=666
mountfs tmpfs /dev/shm mode=1777
mountfs tracefs /sys/kernel/tracing
mountfs debugfs /sys/kernel/debug
mountfs bpf /sys/fs/bpf mode=700
mountfs cgroup2 /sys/fs/cgroup nsdelegate

source "$share/job.env"

# The guest kernel's own modules at the standard place, so modprobe and request_module find them.
read -r release < /proc/sys/kernel/osrelease
if [ -n "${KM_MODULES_DIR:-}" ] && [ -d "$KM_MODULES_DIR" ]; then
  mkdir -p "/lib/modules/$release"
  mount --bind "$KM_MODULES_DIR" "/lib/modules/$release"
  echo /sbin/modprobe > /proc/sys/kernel/modprobe 2>/dev/null || true
fi

ip link set lo up
echo "kernel-matrix-${KM_ID:-guest}" > /proc/sys/kernel/hostname
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd

# Facts about this kernel, whatever the command does.
{
  echo "release=$release"
  echo "btf=$([ -e /sys/kernel/btf/vmlinux ] && echo true || echo false)"
  echo "uptime_at_start=$(uptime)"
} > "$share/facts"

[ -d "$share/results" ] || mkdir -p "$share/results"
export RESULTS="$share/results"
cd "${KM_CWD:-/}"
say "running the command in $PWD after $(uptime)s of uptime"
trap - ERR
start=$(uptime)
# Output goes to hvc0 (the host's output.log); the console keeps kernel messages.
out=/dev/hvc0
[ -c "$out" ] && stty -onlcr < "$out"  # plain \n in output.log
[ -c "$out" ] || { say "warning: no /dev/hvc0, the command's output goes to the console"; out=/dev/console; }
setsid bash "$share/job.cmd" </dev/null >"$out" 2>&1
status=$?
end=$(uptime)
cs=$(( 10#${end/./} - 10#${start/./} ))  # /proc/uptime has two decimals: centiseconds
echo "suite_seconds=$(( cs / 100 )).$(( cs / 10 % 10 ))" >> "$share/facts"
echo "$status" > "$share/status"
say "command exited with status $status"
finish "$status"
