#!/usr/bin/env bash
# Creates .venv-tools: lint tools whose dependencies would fight the pinned boto3/botocore/moto in .venv
# (checkov pins its own boto3). Kept apart so installing them can never change what the tests run with.
set -euo pipefail
venv=${1:-.venv-tools}
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
"$venv/bin/python" -m pip install --quiet -r requirements-tools.txt
echo "tools environment ready: $venv (checkov $("$venv/bin/checkov" --version))"
