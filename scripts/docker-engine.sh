#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine, installing and starting Debian's docker.io if needed.
#
# Idempotent: when `docker info` already works it does nothing. Otherwise it installs docker.io (apt) when
# dockerd is missing, starts dockerd in the background (log: build/dockerd.log, pid: build/dockerd.pid) and
# waits until the engine answers. Safe to run unattended (CI=true, no stdin) and by several callers at once.
#
# Environment:
#   DOCKER_START_TIMEOUT  seconds to wait for the engine to answer (default 60)
#   WARMKEEPER_BUILD_DIR  where the log and pid files go (default <repo>/build)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${WARMKEEPER_BUILD_DIR:-$repo/build}
timeout=${DOCKER_START_TIMEOUT:-60}
log_file=$build_dir/dockerd.log
pid_file=$build_dir/dockerd.pid
# One lock for the whole machine: the engine is shared by every checkout on it.
lock_file=/tmp/warmkeeper-docker-engine.lock
# Debian puts dockerd in /usr/sbin, which a non-login shell may not have on PATH.
export PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

say() { echo "docker-engine: $*" >&2; }
fail() {
  say "error: $*"
  exit 1
}

engine_answers() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_answers; then
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || fail "not root and no sudo: cannot install or start the Docker engine"
  as_root=(sudo -n)
fi

mkdir -p "$build_dir"
exec 9>"$lock_file"
if ! flock -w 600 9; then
  fail "another run holds $lock_file for more than 10 minutes"
fi
# Someone else may have installed and started the engine while we waited for the lock.
if command -v docker >/dev/null 2>&1 && engine_answers; then
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  say "dockerd not found: installing Debian's docker.io (apt-get)"
  command -v apt-get >/dev/null 2>&1 || fail "no apt-get here: install a Docker engine by hand and retry"
  export DEBIAN_FRONTEND=noninteractive
  # Other installs may hold the dpkg lock (on a shared machine): wait for it rather than fail.
  apt=(apt-get -o DPkg::Lock::Timeout=600)
  "${as_root[@]}" "${apt[@]}" update -qq </dev/null >"$build_dir/apt.log" 2>&1 ||
    fail "apt-get update failed (see $build_dir/apt.log)"
  # iptables: dockerd sets up the bridge network with it; docker.io names it as a dependency, but say it.
  "${as_root[@]}" "${apt[@]}" install -y -qq --no-install-recommends docker.io iptables </dev/null \
    >>"$build_dir/apt.log" 2>&1 || fail "apt-get install docker.io failed (see $build_dir/apt.log)"
  command -v dockerd >/dev/null 2>&1 || fail "docker.io installed but dockerd is still not on PATH"
  say "installed $(dockerd --version)"
fi
command -v docker >/dev/null 2>&1 || fail "dockerd exists but the docker client is missing"

# Start a daemon only when none is running; one that is still starting is waited for instead.
dockerd_pid=$(pgrep -x dockerd | head -n1 || true)
if [ -n "$dockerd_pid" ]; then
  say "dockerd (pid $dockerd_pid) is running but not answering yet; waiting for it"
else
  say "starting dockerd (log: $log_file)"
  # setsid: the daemon outlives the make or test run that started it, and no terminal signal reaches it.
  "${as_root[@]}" setsid dockerd >"$log_file" 2>&1 </dev/null &
  dockerd_pid=$!
  echo "$dockerd_pid" >"$pid_file"
fi

deadline=$((SECONDS + timeout))
until engine_answers; do
  if ! kill -0 "$dockerd_pid" 2>/dev/null && ! pgrep -x dockerd >/dev/null; then
    tail -n 20 "$log_file" >&2 2>/dev/null || true
    fail "dockerd exited before it answered (see $log_file)"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    tail -n 20 "$log_file" >&2 2>/dev/null || true
    fail "dockerd (pid $dockerd_pid) did not answer within ${timeout}s (see $log_file; DOCKER_START_TIMEOUT raises the wait)"
  fi
  sleep 0.5
done
say "engine ready: Docker $(docker version --format '{{.Server.Version}}'), dockerd pid $dockerd_pid"
