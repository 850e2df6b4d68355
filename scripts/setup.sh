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

# Debian 12 and Ubuntu 24.04 ship Node 18: say so before npm and tsc fail in less clear ways.
if ! node -e '
  const min = /^>=(\d+)\.(\d+)/.exec(require("./package.json").engines.node);
  const [major, minor] = process.versions.node.split(".").map(Number);
  process.exit(major > +min[1] || (major === +min[1] && minor >= +min[2]) ? 0 : 1);'; then
  log "Node.js $(node --version) is too old: package.json needs $(node -p 'require("./package.json").engines.node'); install Node 20, e.g. from https://deb.nodesource.com (README, Requirements)"
  exit 1
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

# Build only what changed since the last build, so that a second start takes seconds, not half a
# minute. make is incremental for the BPF object. node-gyp and tsc are not (build:addon rebuilds,
# build:ts empties dist/ so that no output of a deleted source survives): each runs only when the
# names, sizes or mtimes of its inputs differ from those recorded at its last successful build.
# A fresh clone has no record and builds everything; so does a checkout that is not a git work tree.
#
# inputs_hash <git pathspec...>: names, sizes and mtimes of the files (tracked or new, not ignored);
# an argument that names an existing file counts even when ignored (a build output read as input).
inputs_hash() {
  local files a
  files="$(git ls-files -z -co --exclude-standard -- "$@" 2>/dev/null | xargs -0 -r stat -c '%n %s %Y' 2>/dev/null)" || true
  for a in "$@"; do
    if [ -f "$a" ]; then files+=$'\n'"$(stat -c '%n %s %Y' "$a")"; fi
  done
  [ -n "$files" ] || { head -c 16 /dev/urandom | od -An -tx1; return; }
  printf '%s\n%s\n%s\n' "$files" "$(node --version)" "${npm_config_nodedir:-}" | sha256sum | cut -d' ' -f1
}
# build_if_changed <label> <record file> <npm script> <git pathspec...>
build_if_changed() {
  local label="$1" record="$2" script="$3" hash
  shift 3
  hash="$(inputs_hash "$@")"
  if [ -f "$record" ] && [ "$(cat "$record")" = "$hash" ]; then
    log "$label: up to date"
    return
  fi
  log "building $label"
  rm -f "$record"
  npm run --silent "$script" >/dev/null
  mkdir -p "$(dirname "$record")"
  echo "$hash" > "$record"
}

log "building the BPF object (make: only what changed)"
npm run --silent build:ebpf >/dev/null
# The addon compiles against the skeleton and headers in ebpf/ (binding.gyp include_dirs).
build_if_changed "native addon" addon/build/.sockscope-inputs build:addon \
  addon ':!addon/build' 'ebpf/*.h' ebpf/.output/sockscope.skel.h
# Everything else that tsc reads: src/, test/, bench/, tsconfig.json, the package files, and
# whatever a later change adds beside them (so it is not forgotten here). Docs are not read.
build_if_changed "TypeScript" dist/.sockscope-inputs build:ts \
  . ':!ebpf' ':!addon' ':!docs' ':!*.md' ':!helm' ':!deploy'
