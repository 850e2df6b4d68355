#!/usr/bin/env bash
# Makes, offline, the base images the Dockerfile builds on, in the podman state at STATE_DIR:
#   localhost/debian:bookworm-slim   debootstrap --variant=minbase bookworm, imported
#   localhost/node:20-bookworm-slim  that base plus this host's Node.js, laid out like the
#                                    official node image (/usr/local/bin/node, npm, headers)
# Prints the Node image's name. The debootstrap tarball is cached under
# /var/cache/sockscope (SOCKSCOPE_CACHE_DIR), so only a machine's first run downloads it.
#   usage: base-images.sh STATE_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
state="${1:?usage: base-images.sh STATE_DIR}"
cache="${SOCKSCOPE_CACHE_DIR:-/var/cache/sockscope}"
mirror="${SOCKSCOPE_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
podman() { "$here/podman.sh" "$state" "$@"; }
log() { printf 'base-images: %s\n' "$*" >&2; }

debian_image=localhost/debian:bookworm-slim

# What the official debian:bookworm-slim adds to a minbase debootstrap: dpkg without fsync
# (the difference is minutes per build here), no documentation or translations, apt
# cleaning up after itself, and no downloaded packages or lists left in the image.
slim_like_official() {
  local root="$1"
  echo 'force-unsafe-io' >"$root/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/man/*
path-exclude /usr/share/locale/*
DPKG
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
  echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
  echo 'Acquire::GzipIndexes "true";' >"$root/etc/apt/apt.conf.d/docker-gzip-indexes"
  echo 'Apt::AutoRemove::SuggestsImportant "false";' >"$root/etc/apt/apt.conf.d/docker-autoremove-suggests"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/*/changelog* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
}
node_major="$(node -p 'process.versions.node.split(".")[0]')"
node_image="localhost/node:${node_major}-bookworm-slim"

tarball="$cache/debian-bookworm-slim.tar"
if [ ! -s "$tarball" ]; then
  log "debootstrap --variant=minbase bookworm (cached afterwards in $tarball)"
  mkdir -p "$cache"
  work="$(mktemp -d "$cache/debootstrap.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  slim_like_official "$work/rootfs"
  tar -C "$work/rootfs" --numeric-owner -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$tarball"
  rm -rf "$work"
  trap - EXIT
fi

if ! podman image exists "$debian_image"; then
  podman import --quiet --change 'CMD ["bash"]' "$tarball" "$debian_image" >/dev/null
fi

if ! podman image exists "$node_image"; then
  node_bin="$(readlink -f "$(command -v node)")"
  prefix="$(dirname "$(dirname "$node_bin")")"
  ctx="$(mktemp -d "$state/node-context.XXXXXX")"
  # Hard links where the file system allows, copies otherwise.
  cp -al "$node_bin" "$ctx/node" 2>/dev/null || cp -a "$node_bin" "$ctx/node"
  cp -al "$prefix/lib/node_modules/npm" "$ctx/npm" 2>/dev/null || cp -a "$prefix/lib/node_modules/npm" "$ctx/npm"
  cp -al "$prefix/include/node" "$ctx/include" 2>/dev/null || cp -a "$prefix/include/node" "$ctx/include"
  # The host's Node comes with the host's trust: a machine behind a TLS-inspecting proxy
  # reaches the npm registry only with the proxy's CA, which npm ci in the build needs.
  ca_bundle="${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}"
  if [ -s "$ca_bundle" ]; then cp "$ca_bundle" "$ctx/host-ca.crt"; else : >"$ctx/host-ca.crt"; fi
  cat >"$ctx/Containerfile" <<CONTAINERFILE
FROM $debian_image
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY include /usr/local/include/node
COPY host-ca.crt /usr/local/share/host-ca.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version
ENV NODE_VERSION=$(node -p process.versions.node) NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca.crt
CMD ["node"]
CONTAINERFILE
  podman build --quiet --pull=never --network none -t "$node_image" "$ctx" >/dev/null
  rm -rf "$ctx"
fi
echo "$node_image"
