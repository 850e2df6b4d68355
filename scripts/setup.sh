#!/usr/bin/env bash
# Everything sockscope needs to build and test on Debian/Ubuntu, idempotent:
# system packages, npm dependencies, the BPF object, the addon and the TypeScript.
# Sourced or run by scripts/run.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "run as root: installing packages and loading BPF programs need it"
  exit 1
fi

# Build: clang + bpftool (BPF object, skeleton), libbpf/libelf/zlib/libnetfilter_conntrack (addon), g++/make/python3 (node-gyp).
# Test: prometheus (real scraper + promtool), iperf3, nftables, iproute2, openssl (test CAs),
# chromium + a font (the live view's browser test drives Debian's Chromium: nothing downloads a browser).
packages=(clang bpftool libbpf-dev libelf-dev zlib1g-dev libnetfilter-conntrack-dev pkg-config make g++ python3
          prometheus iperf3 nftables iproute2 procps ca-certificates openssl
          chromium fonts-dejavu-core)
if ! command -v node >/dev/null 2>&1; then
  packages+=(nodejs npm libnode-dev)
fi
# Test: tmux (a real terminal that the tests of `sockscope top` type into and read).
packages+=(tmux)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Classic tracepoints (and kprobes, on kernels that have them) attach through tracefs, where
# libbpf reads their ids. Hosts that boot without it mounted (minimal images, some VMs) would
# silently lose those probe families; `sockscope check` names the cause either way.
if [ -d /sys/kernel/tracing ] && ! mountpoint -q /sys/kernel/tracing; then
  log "mounting tracefs on /sys/kernel/tracing"
  mount -t tracefs tracefs /sys/kernel/tracing || log "could not mount tracefs: classic tracepoints will not attach"
fi

# Build the addon against the installed Node's headers instead of downloading them.
if [ -f /usr/include/node/node_api.h ]; then
  export npm_config_nodedir=/usr
fi

stamp=node_modules/.sockscope-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi

log "building BPF object, addon and TypeScript"
npm run --silent build >/dev/null
