#!/usr/bin/env bash
# `make web-assets`: refresh the web libraries the published page uses, from pinned npm packages.
# Node/npm are needed here only; the plugin ships the built, minified files (no Node at run time).
# Versions: web/package.json + web/package-lock.json (npm ci installs exactly those).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENDOR=dtfl_plugin/publish/static/vendor
command -v npm >/dev/null || { echo "npm is needed to rebuild the web assets (apt-get install npm)" >&2; exit 1; }
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
cp web/package.json web/package-lock.json web/three-entry.js "$BUILD/"
(cd "$BUILD" && npm ci --no-audit --no-fund --loglevel=error)
NM="$BUILD/node_modules"
# esbuild's own binary comes as an optional dependency; its postinstall check is not needed.
"$NM/.bin/esbuild" "$BUILD/three-entry.js" --bundle --minify --format=iife --global-name=THREE \
  --legal-comments=none --target=es2020 --outfile="$BUILD/three.min.js" --log-level=warning
NEW="$BUILD/vendor"
mkdir -p "$NEW"
cp "$NM/maplibre-gl/dist/maplibre-gl.js" "$NM/maplibre-gl/dist/maplibre-gl.css" "$NEW/"
sed -i '/^\/\/# sourceMappingURL=/d' "$NEW/maplibre-gl.js"
cp "$BUILD/three.min.js" "$NEW/"
cp "$NM/maplibre-gl/LICENSE.txt" "$NEW/LICENSE-maplibre-gl.txt"
cp "$NM/three/LICENSE" "$NEW/LICENSE-three.txt"
ml=$(node -p "require('$NM/maplibre-gl/package.json').version")
th=$(node -p "require('$NM/three/package.json').version")
es=$(node -p "require('$NM/esbuild/package.json').version")
{
  echo "# Vendored web libraries (built by \`make web-assets\`; do not edit by hand)"
  echo
  echo "| file | package | version | licence | size (bytes) |"
  echo "|---|---|---|---|---|"
  echo "| maplibre-gl.js, maplibre-gl.css | maplibre-gl (npm) | $ml | BSD-3-Clause (LICENSE-maplibre-gl.txt) | $(stat -c %s "$NEW/maplibre-gl.js") + $(stat -c %s "$NEW/maplibre-gl.css") |"
  echo "| three.min.js | three (npm), only the classes in web/three-entry.js, bundled and minified by esbuild $es | $th | MIT (LICENSE-three.txt) | $(stat -c %s "$NEW/three.min.js") |"
  echo
  echo "Source map comments are removed so the page never asks for a file that is not there."
} > "$NEW/VENDOR.md"
rm -rf "$VENDOR"
mkdir -p "$(dirname "$VENDOR")"
mv "$NEW" "$VENDOR"
echo "web assets written to $VENDOR:"
cat "$VENDOR/VENDOR.md"
