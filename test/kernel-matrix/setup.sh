#!/usr/bin/env bash
# Installs what the kernel matrix needs on the host, if missing: QEMU (TCG), busybox for the
# initramfs, cpio to pack it, xz/zstd for compressed kernel modules.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

packages=(qemu-system-x86 busybox-static cpio xz-utils zstd kmod iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || km_die "need root to install ${missing[*]}"
  km_log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
