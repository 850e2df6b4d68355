# Shared by the kernel-matrix scripts (sourced, not run).
# The matrix: which Debian kernel series each id stands for, and where they are cached.

KM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KM_REPO="$(cd "$KM_DIR/../.." && pwd)"
# Downloaded .debs and extracted trees survive between runs on the same machine.
KM_CACHE="${KERNEL_MATRIX_CACHE:-/var/cache/sockscope/kernels}"
# How long a resolved "newest kernel of the series" is trusted before the archive is asked again.
KM_MAX_AGE_DAYS="${KERNEL_MATRIX_MAX_AGE_DAYS:-7}"
KM_MIRROR="${KERNEL_MATRIX_MIRROR:-http://deb.debian.org}"

# The VM kernels, oldest first. "host" (the running kernel, no VM) is added by run-matrix.sh.
KM_VM_KERNELS=(5.10 6.1 6.12)

km_log() { printf 'kernel-matrix: %s\n' "$*" >&2; }
km_die() { km_log "$*"; exit 1; }

# km_series <id>: the package-name pattern (ERE) of that series' generic amd64 image.
# The newest version over every suite in km_sources wins, so 6.12 may come from
# trixie(-security) or bookworm-backports, whichever is newer.
km_series() {
  case "$1" in
    5.10) echo '^linux-image-5\.10\.0-[0-9]+-amd64$' ;;
    6.1)  echo '^linux-image-6\.1\.0-[0-9]+-amd64$' ;;
    6.12) echo '^linux-image-6\.12\.[0-9]+\+(bpo|deb1[23])(\.[0-9]+)?-amd64$' ;;
    *) return 1 ;;
  esac
}

km_sources() {
  local key=/usr/share/keyrings/debian-archive-keyring.gpg s
  for s in bullseye bookworm bookworm-backports trixie; do
    echo "deb [signed-by=$key] $KM_MIRROR/debian $s main"
  done
  for s in bullseye-security bookworm-security trixie-security; do
    echo "deb [signed-by=$key] $KM_MIRROR/debian-security $s main"
  done
}

# apt with a private source list, lists and cache: the host's apt configuration is never touched.
km_apt() {
  local tool="$1"; shift
  "$tool" -q -o Dir::Etc::SourceList="$KM_CACHE/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null \
    -o Dir::State::Lists="$KM_CACHE/apt/lists" -o Dir::Cache="$KM_CACHE/apt/cache" \
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null \
    -o APT::Sandbox::User=root -o Acquire::Languages=none -o APT::Get::List-Cleanup=0 "$@"
}

# km_kernel_env <id>: the file that records what <id> resolved to (KM_RELEASE, KM_TREE, ...).
km_kernel_env() { echo "$KM_CACHE/$1.env"; }
