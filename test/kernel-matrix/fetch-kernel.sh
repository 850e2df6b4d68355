#!/usr/bin/env bash
# fetch-kernel.sh [--refresh] <kernel-id>...
#
# Resolves each id (5.10, 6.1, 6.12) to the newest Debian linux-image package of that series,
# downloads the .deb with apt (a private apt dir: the host's sources and /boot are untouched),
# extracts kernel + modules with dpkg -x, generates modules.dep and packs the initramfs.
# Everything is cached under $KERNEL_MATRIX_CACHE (default /var/cache/sockscope/kernels);
# a resolution younger than $KERNEL_MATRIX_MAX_AGE_DAYS (7) is reused without any network.
# Writes <cache>/<id>.env (KM_RELEASE, KM_KERNEL, KM_INITRD, ...), read by run-guest.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

refresh=false
ids=()
for a in "$@"; do
  case "$a" in
    --refresh) refresh=true ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) km_series "$a" >/dev/null || km_die "unknown kernel id '$a' (known: ${KM_VM_KERNELS[*]})"; ids+=("$a") ;;
  esac
done
[ ${#ids[@]} -gt 0 ] || ids=("${KM_VM_KERNELS[@]}")

mkdir -p "$KM_CACHE/apt/lists/partial" "$KM_CACHE/apt/cache/archives/partial" "$KM_CACHE/debs" "$KM_CACHE/trees"
# One fetcher at a time per cache: a second run waits instead of extracting over the first.
exec 9>"$KM_CACHE/.lock"
flock 9

fresh() { # fresh <id>: its resolution exists, is younger than the max age, and its files are there
  local env; env="$(km_kernel_env "$1")"
  [ -f "$env" ] || return 1
  [ -n "$(find "$env" -mtime "-$KM_MAX_AGE_DAYS")" ] || return 1
  ( source "$env" && [ -f "$KM_KERNEL" ] && [ -f "$KM_INITRD" ] )
}

apt_updated=false
apt_update() {
  $apt_updated && return 0
  km_sources > "$KM_CACHE/apt/sources.list"
  km_log "apt-get update (private lists in $KM_CACHE/apt)"
  km_apt apt-get update >/dev/null
  apt_updated=true
}

# newest_package <ERE>: "<package> <version>" of the highest version whose name matches.
newest_package() {
  local best_p="" best_v="" p v
  while read -r p v; do
    if [ -z "$best_v" ] || dpkg --compare-versions "$v" gt "$best_v"; then best_p="$p"; best_v="$v"; fi
  done < <(km_apt apt-cache dumpavail 2>/dev/null |
             awk -v re="$1" '/^Package: /{p=$2} /^Version: /{v=$2} /^$/{ if (p ~ re) print p, v; p="" }')
  [ -n "$best_p" ] && echo "$best_p $best_v"
}

# load_order <modules-dir> <module>...: the .ko paths (relative) to insmod, dependencies first.
# Modules built into this kernel are skipped; an unknown module is an error.
load_order() {
  local dir="$1"; shift
  awk -v wanted="$*" '
    function base(path,  b) { b = path; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b); gsub(/-/, "_", b); return b }
    function visit(m,  i, n, parts) {
      if (m in done) return
      done[m] = 1
      n = split(deps[m], parts, " ")
      for (i = n; i >= 1; i--) visit(base(parts[i]))
      print path[m]
    }
    FILENAME ~ /modules.builtin$/ { builtin[base($1)] = 1; next }
    { sub(/:$/, "", $1); m = base($1); path[m] = $1; $1 = ""; deps[m] = $0 }
    END {
      n = split(wanted, w, " ")
      for (i = 1; i <= n; i++) {
        m = w[i]; gsub(/-/, "_", m)
        if (m in builtin) continue
        if (!(m in path)) { print "missing module " m > "/dev/stderr"; exit 1 }
        visit(m)
      }
    }' "$dir/modules.builtin" "$dir/modules.dep"
}

# What stage 1 needs to mount the host root: virtio PCI transport, 9p over virtio, overlayfs,
# and virtio_console for the command's output channel (hvc0).
BOOT_MODULES=(virtio_pci virtio_console 9pnet_virtio 9p overlay)

build_initramfs() { # build_initramfs <tree> <release> <out>
  local tree="$1" release="$2" out="$3" mods="$1/root/lib/modules/$2" stage
  stage="$(mktemp -d)"
  mkdir -p "$stage"/{bin,dev,proc,sys,lower,upper,newroot,share,modules}
  cp /bin/busybox "$stage/bin/busybox"
  cp "$KM_DIR/guest/init" "$stage/init"
  chmod 755 "$stage/init"
  local n=0 rel name
  : > "$stage/modules/order"
  while read -r rel; do
    n=$((n + 1))
    name="$(printf '%02d' "$n")-$(basename "${rel%%.ko*}").ko"
    case "$rel" in
      *.ko.xz)  xz -dc "$mods/$rel" > "$stage/modules/$name" ;;
      *.ko.zst) zstd -qdc "$mods/$rel" > "$stage/modules/$name" ;;
      *.ko.gz)  gzip -dc "$mods/$rel" > "$stage/modules/$name" ;;
      *)        cp "$mods/$rel" "$stage/modules/$name" ;;
    esac
    echo "$name" >> "$stage/modules/order"
  done < <(load_order "$mods" "${BOOT_MODULES[@]}")
  (cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 > "$out.tmp"
  mv "$out.tmp" "$out"
  paste -sd' ' "$stage/modules/order" | sed -E 's/[0-9]+-//g; s/\.ko//g'
  rm -rf "$stage"
}

# extract_vmlinux <vmlinuz> <out>: the uncompressed ELF inside a bzImage (the kernel's
# scripts/extract-vmlinux approach). QEMU boots it through its PVH entry point, which skips the
# in-guest decompression: about 5 s per boot under TCG. Fails if there is no usable ELF.
extract_vmlinux() {
  local vmlinuz="$1" out="$2" magic tool offset
  for magic_tool in '\xfd7zXZ\x00:xz -dc' '\x28\xb5\x2f\xfd:zstd -qdc' '\x1f\x8b\x08:gzip -dc'; do
    magic="${magic_tool%%:*}"; tool="${magic_tool#*:}"
    for offset in $(LC_ALL=C grep -obUaP "$magic" "$vmlinuz" | cut -d: -f1); do
      tail -c "+$((offset + 1))" "$vmlinuz" | $tool > "$out.tmp" 2>/dev/null || true
      if [ "$(head -c 4 "$out.tmp" 2>/dev/null)" = $'\x7fELF' ]; then mv "$out.tmp" "$out"; return 0; fi
    done
  done
  rm -f "$out.tmp"
  return 1
}

fetch_one() {
  local id="$1" env pkg ver deb tree release
  env="$(km_kernel_env "$id")"
  if ! $refresh && fresh "$id"; then
    # Rebuild only the initramfs if the stage-1 init changed since it was packed.
    ( source "$env"; [ "$KM_INITRD" -nt "$KM_DIR/guest/init" ] ) || {
      source "$env"; km_log "$id: repacking initramfs"; build_initramfs "$KM_TREE" "$KM_RELEASE" "$KM_INITRD" >/dev/null; }
    km_log "$id: cached ($(source "$env"; echo "$KM_PACKAGE $KM_VERSION"))"
    return 0
  fi
  if ! apt_update; then
    [ -f "$env" ] && { km_log "$id: apt-get update failed, using the cached resolution"; touch "$env"; return 0; }
    km_die "$id: apt-get update failed and nothing is cached"
  fi
  read -r pkg ver < <(newest_package "$(km_series "$id")") || km_die "$id: no package matches $(km_series "$id")"
  release="${pkg#linux-image-}"
  tree="$KM_CACHE/trees/${pkg}_${ver}"
  deb="$(ls "$KM_CACHE/debs/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    km_log "$id: downloading $pkg $ver"
    (cd "$KM_CACHE/debs" && km_apt apt-get download "$pkg=$ver" >/dev/null)
    deb="$(ls "$KM_CACHE/debs/${pkg}_${ver//:/%3a}_"*.deb | head -n1)"
  fi
  if [ ! -f "$tree/.extracted" ]; then
    km_log "$id: extracting $(basename "$deb")"
    rm -rf "$tree" && mkdir -p "$tree"
    dpkg -x "$deb" "$tree/root"
    # trixie's packages ship modules under /usr/lib (merged /usr); depmod -b looks under lib/.
    if [ ! -d "$tree/root/lib/modules" ] && [ -d "$tree/root/usr/lib/modules" ]; then ln -s usr/lib "$tree/root/lib"; fi
    depmod -b "$tree/root" "$release"
    touch "$tree/.extracted"
  fi
  local kernel="$tree/root/boot/vmlinuz-$release" modules
  [ -f "$kernel" ] || km_die "$id: $kernel not in $(basename "$deb")"
  if grep -qx 'CONFIG_PVH=y' "$tree/root/boot/config-$release" && { [ -f "$tree/vmlinux" ] || extract_vmlinux "$kernel" "$tree/vmlinux"; }; then
    kernel="$tree/vmlinux"
  else
    km_log "$id: no PVH-bootable vmlinux, booting the compressed $(basename "$kernel")"
  fi
  modules="$(build_initramfs "$tree" "$release" "$tree/initramfs.cpio.gz")"
  cat > "$env.tmp" <<ENV
KM_ID='$id'
KM_PACKAGE='$pkg'
KM_VERSION='$ver'
KM_RELEASE='$release'
KM_TREE='$tree'
KM_KERNEL='$kernel'
KM_INITRD='$tree/initramfs.cpio.gz'
KM_MODULES_DIR='$tree/root/lib/modules/$release'
KM_BOOT_MODULES='$modules'
ENV
  mv "$env.tmp" "$env"
  km_log "$id: $pkg $ver ready (boot modules: $modules)"
}

for id in "${ids[@]}"; do fetch_one "$id"; done

# Trees and .debs no resolution points at any more are 400 MB each: drop them.
keep="$(cat "$KM_CACHE"/*.env 2>/dev/null | sed -n "s/^KM_TREE='\(.*\)'$/\1/p")"
for t in "$KM_CACHE"/trees/*/; do
  t="${t%/}"; [ -d "$t" ] || continue
  grep -qxF "$t" <<<"$keep" && continue
  km_log "pruning $(basename "$t")"
  rm -rf "$t" "$KM_CACHE/debs/$(basename "$t" | sed 's/:/%3a/')_"*.deb
done
