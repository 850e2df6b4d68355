#!/usr/bin/env bash
# Builds the live view into dist/ui (served by the daemon at /ui/): its TypeScript, its
# HTML and CSS, and uPlot copied from node_modules, so the page needs no CDN and works on
# an air-gapped node. Run by `npm run build:ts` and by the Dockerfile.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=dist/ui
rm -rf dist/.ui-build
npx tsc -p ui/tsconfig.json
mkdir -p "$out"
cp dist/.ui-build/ui/src/*.js "$out/"
rm -rf dist/.ui-build
cp ui/index.html ui/style.css "$out/"
mkdir -p "$out/vendor"
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css "$out/vendor/"
cp node_modules/uplot/LICENSE "$out/vendor/uPlot.LICENSE.txt"
