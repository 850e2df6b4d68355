#!/usr/bin/env bash
# Installs sockscope as a systemd service from a built checkout (`npm run build` first):
#   sudo deploy/systemd/install.sh            install, enable and start
#   DESTDIR=/tmp/root deploy/systemd/install.sh --no-start   stage into a directory only
# Installs /opt/sockscope (the daemon with its production dependencies), the unit in
# /etc/systemd/system, /etc/sockscope/sockscope.yaml and sockscope.env (each kept if it exists;
# the env file root-only), /etc/sockscope/web-config.example.yml (TLS and basic auth, off until
# configured) and otlp-credentials.conf with an empty root-only credentials/ (OTLP secrets, off
# until the drop-in is installed).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
destdir="${DESTDIR:-}"
prefix="${PREFIX:-/opt/sockscope}"
start=true
[ "${1:-}" = "--no-start" ] && start=false

node_bin="${NODE:-$(command -v node || true)}"
[ -n "$node_bin" ] || { echo "install.sh: node is not installed" >&2; exit 1; }
for built in "$repo/dist/src/cli.js" "$repo/addon/build/Release/sockscope.node"; do
  [ -f "$built" ] || { echo "install.sh: $built is missing; run npm run build first" >&2; exit 1; }
done

app="$destdir$prefix"
rm -rf "$app"
install -d -m 0755 "$app/dist" "$app/addon/build/Release"
cp -R "$repo/dist/src" "$app/dist/src"
install -m 0644 "$repo/addon/build/Release/sockscope.node" "$app/addon/build/Release/sockscope.node"
install -m 0644 "$repo/package.json" "$repo/package-lock.json" "$app/"
# Production dependencies only, from the lock file, without scripts.
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
rm -f "$app/package-lock.json"
chmod -R u+rwX,go+rX,go-w "$app"

install -d -m 0755 "$destdir/etc/systemd/system" "$destdir/etc/sockscope"
sed -e "s#^ExecStart=/usr/bin/node \(.*\)/opt/sockscope/#ExecStart=$node_bin \1$prefix/#" \
  "$here/sockscope.service" >"$destdir/etc/systemd/system/sockscope.service"
chmod 0644 "$destdir/etc/systemd/system/sockscope.service"
# Root-only: it may hold secrets (SOCKSCOPE_OTLP_HEADERS); systemd reads it as root.
[ -f "$destdir/etc/sockscope/sockscope.env" ] || install -m 0600 "$here/sockscope.env" "$destdir/etc/sockscope/sockscope.env"
[ -f "$destdir/etc/sockscope/sockscope.yaml" ] || install -m 0644 "$here/sockscope.yaml" "$destdir/etc/sockscope/sockscope.yaml"
install -m 0644 "$here/web-config.example.yml" "$destdir/etc/sockscope/web-config.example.yml"
# OTLP secrets as systemd credentials: the drop-in is an example until copied into
# sockscope.service.d; the directory for the secret files is root's alone.
install -m 0644 "$here/otlp-credentials.conf" "$destdir/etc/sockscope/otlp-credentials.conf"
install -d -m 0700 "$destdir/etc/sockscope/credentials"

if $start && [ -z "$destdir" ]; then
  systemctl daemon-reload
  systemctl enable --now sockscope.service
  systemctl --no-pager status sockscope.service || true
fi
echo "installed sockscope in $app"
