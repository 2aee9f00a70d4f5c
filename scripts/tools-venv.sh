#!/usr/bin/env bash
# Creates .venv-tools: lint tools whose dependencies would fight the pinned boto3/botocore/moto in .venv
# (checkov pins its own boto3). Kept apart so installing them can never change what the tests run with.
set -euo pipefail
venv=${1:-.venv-tools}
"$(dirname "$0")/venv.sh" "$venv" requirements-tools.txt
echo "tools environment ready: $venv (checkov $("$venv/bin/checkov" --version))"
