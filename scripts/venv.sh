#!/usr/bin/env bash
# Creates the Python 3.13 virtual environment with the pinned dev tools (or, given a second argument, a
# virtual environment with that requirements file only: scripts/tools-venv.sh).
set -euo pipefail
venv=${1:-.venv}
requirements=${2:-}
python=""
for candidate in python3.13 "$(pyenv root 2>/dev/null)"/versions/3.13.*/bin/python3.13 /root/.pyenv/versions/3.13.*/bin/python3.13; do
  if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
    python=$(command -v "$candidate"); break
  fi
done
if [ -z "$python" ]; then
  echo "error: no Python 3.13 found (looked on PATH and under pyenv); install it and retry" >&2
  exit 1
fi
[ -x "$venv/bin/python3.13" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
if [ -n "$requirements" ]; then
  "$venv/bin/python" -m pip install --quiet -r "$requirements"
  exit 0
fi
"$venv/bin/python" -m pip install --quiet -r requirements-dev.txt
# The `warmkeeper` CLI, editable and without dependencies: the pins above already satisfy them.
"$venv/bin/python" -m pip install --quiet --no-deps -e "$(dirname "$0")/.."
echo "virtual environment ready: $venv ($("$venv/bin/python" --version))"
