#!/usr/bin/env bash
# Sets up (see setup.sh) and runs the whole test suite: unit, BPF integration and
# end-to-end tests with a real Prometheus and a real OTLP receiver.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
# The deployment tests also build and run the image and check the systemd unit.
bash test/deploy/setup.sh
exec npm test
