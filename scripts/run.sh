#!/usr/bin/env bash
# Sets up (see setup.sh) and runs the daemon in the foreground. Extra arguments go to
# `sockscope run`, e.g. `bash scripts/run.sh --prometheus.port 9500`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# The memory settings every launcher passes: see src/runtime-settings.ts.
MALLOC_ARENA_MAX=2 exec node --max-semi-space-size=2 --optimize-for-size dist/src/cli.js run "$@"
