#!/usr/bin/env bash
# Debian tools the HTTP-face tests drive for real: Caddy (the shipped Caddyfile) and headless Chromium
# (the waiting page). Idempotent: installs only what is missing, so CI and repeated `make test` stay fast.
set -euo pipefail

declare -A wanted=([caddy]=caddy [chromium]=chromium)
missing=()
for command in "${!wanted[@]}"; do
    command -v "$command" >/dev/null 2>&1 || missing+=("${wanted[$command]}")
done

if ((${#missing[@]} == 0)); then
    echo "install-debian-tools: caddy and chromium already present"
    exit 0
fi

sudo=""
if ((EUID != 0)); then
    sudo="sudo"
fi
echo "install-debian-tools: installing ${missing[*]}"
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for command in "${!wanted[@]}"; do
    command -v "$command" >/dev/null 2>&1 || { echo "install-debian-tools: $command still missing" >&2; exit 1; }
done
echo "install-debian-tools: done"
