#!/usr/bin/env bash
# Builds the local Lambda base image for python3.13 without pulling anything, for
# `sam local invoke --invoke-image warmkeeper/lambda-python3.13:local --skip-pull-image`.
#
# The image is a minimal root file system imported with `docker import`: busybox (Debian's busybox-static),
# the local Python 3.13 (the interpreter the project's venv is built on) under /var/lang with the shared
# libraries it needs, awslambdaric and boto3 (pinned in requirements-dev.txt) in /var/runtime, and a
# /var/runtime/bootstrap that starts the runtime interface client with the handler from _HANDLER.
#
# Rebuilt only when its inputs change: the files of this folder, the Python version and the pins. Their hash
# is stored as the image label warmkeeper.inputs; a missing image is always built. --force rebuilds anyway.
#
# Environment:
#   WARMKEEPER_LAMBDA_IMAGE  image tag (default warmkeeper/lambda-python3.13:local)
#   WARMKEEPER_BUILD_DIR     work folder (default <repo>/build)
#   WARMKEEPER_CACHE_DIR     downloads (busybox-static, wheels), shared by the checkouts of this machine
#                            (default ${XDG_CACHE_HOME:-~/.cache}/warmkeeper/lambda-image)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
image=${WARMKEEPER_LAMBDA_IMAGE:-warmkeeper/lambda-python3.13:local}
work=${WARMKEEPER_BUILD_DIR:-$repo/build}/lambda-image
force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *)
    echo "usage: $0 [--force]" >&2
    exit 2
    ;;
esac

say() { echo "lambda-image: $*" >&2; }
fail() {
  say "error: $*"
  exit 1
}
started=$SECONDS

# The interpreter to copy: the one the venv runs on, else pyenv's newest 3.13, else python3.13 on PATH.
python=""
for candidate in "$repo/.venv/bin/python3.13" "$(pyenv root 2>/dev/null || echo /root/.pyenv)"/versions/3.13.*/bin/python3.13 python3.13; do
  if command -v "$candidate" >/dev/null 2>&1; then
    python=$("$candidate" -c 'import os, sys; print(os.path.join(sys.base_prefix, "bin", "python3.13"))') || continue
    [ -x "$python" ] && break
    python=""
  fi
done
[ -n "$python" ] || fail "no Python 3.13 found (looked in .venv, pyenv and PATH)"
prefix=$(cd "$(dirname "$python")/.." && pwd)
py_version=$("$python" -c 'import sys; print(sys.version.split()[0])')
case "$py_version" in 3.13.*) ;; *) fail "$python is Python $py_version, not 3.13" ;; esac
[ -f "$prefix/lib/libpython3.13.so.1.0" ] || [ -z "$(ldd "$python" | grep libpython || true)" ] ||
  fail "$python links libpython3.13 but $prefix/lib/libpython3.13.so.1.0 is missing"

# The runtime's packages, pinned with the dev tools so the image and the tests agree on boto3.
pins=$(grep -E '^(awslambdaric|boto3|botocore)==' "$repo/requirements-dev.txt" | sort || true)
[ "$(echo "$pins" | grep -c '==')" -eq 3 ] ||
  fail "requirements-dev.txt must pin awslambdaric, boto3 and botocore (found: ${pins:-nothing})"

inputs_hash=$(
  {
    for f in "$here"/*; do
      echo "== $(basename "$f")"
      cat "$f"
    done
    echo "== python $py_version"
    echo "== pins"
    echo "$pins"
  } | sha256sum | cut -c1-16
)

image_size() { docker image inspect -f '{{.Size}}' "$image" | awk '{printf "%.1f MB", $1 / 1000000}'; }

"$repo/scripts/docker-engine.sh"

current=$(docker image inspect -f '{{index .Config.Labels "warmkeeper.inputs"}}' "$image" 2>/dev/null || true)
if [ "$force" -eq 0 ] && [ "$current" = "$inputs_hash" ]; then
  say "$image is up to date (inputs $inputs_hash, $(image_size)); nothing to do"
  exit 0
fi
if [ -z "$current" ]; then
  say "building $image (image missing; Python $py_version from $prefix)"
else
  say "building $image (inputs changed: ${current} -> ${inputs_hash}; Python $py_version from $prefix)"
fi

rootfs=$work/rootfs
cache=${WARMKEEPER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/warmkeeper/lambda-image}
rm -rf "$rootfs"
mkdir -p "$cache" "$rootfs"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,etc,root,tmp,opt,var/task,var/runtime,var/lang/bin,var/lang/lib,lib64,lib/x86_64-linux-gnu}
chmod 1777 "$rootfs/tmp"

# --- busybox: the shell and tools (sam local invoke's image build runs `RUN mv ... && chmod ...`) ---------
deb=$(ls "$cache"/busybox-static_*.deb 2>/dev/null | tail -n1 || true)
if [ -z "$deb" ]; then
  say "downloading Debian's busybox-static"
  if ! (cd "$cache" && apt-get download busybox-static >"$cache/apt.log" 2>&1); then
    # A fresh machine may have no package lists yet.
    apt-get -o DPkg::Lock::Timeout=600 update -qq >>"$cache/apt.log" 2>&1 ||
      fail "apt-get update failed (see $cache/apt.log)"
    (cd "$cache" && apt-get download busybox-static >>"$cache/apt.log" 2>&1) ||
      fail "apt-get download busybox-static failed (see $cache/apt.log)"
  fi
  deb=$(ls "$cache"/busybox-static_*.deb | tail -n1)
fi
rm -rf "$work/busybox"
dpkg-deb -x "$deb" "$work/busybox"
cp "$work/busybox/bin/busybox" "$rootfs/bin/busybox"
"$rootfs/bin/busybox" --list-full | while read -r applet; do
  [ -e "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
done

# --- Python 3.13 under /var/lang, as in AWS's images, without what a function never needs ----------------
cp "$python" "$rootfs/var/lang/bin/python3.13"
ln -s python3.13 "$rootfs/var/lang/bin/python3"
ln -s python3 "$rootfs/var/lang/bin/python"
for lib in libpython3.13.so.1.0 libpython3.so; do
  [ -f "$prefix/lib/$lib" ] && cp -L "$prefix/lib/$lib" "$rootfs/var/lang/lib/$lib"
done
[ -f "$rootfs/var/lang/lib/libpython3.13.so.1.0" ] && ln -s libpython3.13.so.1.0 "$rootfs/var/lang/lib/libpython3.13.so"
tar -C "$prefix/lib" -cf - \
  --exclude=__pycache__ \
  --exclude='python3.13/test' \
  --exclude='python3.13/idlelib' \
  --exclude='python3.13/tkinter' \
  --exclude='python3.13/turtledemo' \
  --exclude='python3.13/turtle.py' \
  --exclude='python3.13/ensurepip' \
  --exclude='python3.13/pydoc_data' \
  --exclude='python3.13/config-3.13-*' \
  --exclude='python3.13/site-packages/*' \
  --exclude='python3.13/lib-dynload/_tkinter*' \
  --exclude='python3.13/lib-dynload/_test*' \
  --exclude='python3.13/lib-dynload/_ctypes_test*' \
  --exclude='python3.13/lib-dynload/xx*' \
  python3.13 | tar -C "$rootfs/var/lang/lib" -xf -
# pyenv builds keep debug symbols: stripping takes libpython from about 30 MB to a few.
find "$rootfs/var/lang" -type f \( -name '*.so' -o -name '*.so.*' -o -name python3.13 \) \
  -exec strip --strip-unneeded {} +

# --- The runtime interface client and the SDK in /var/runtime ----------------------------------------------
pip_python=$python
[ -x "$repo/.venv/bin/python" ] && pip_python=$repo/.venv/bin/python
# Wheels are downloaded once per set of pins and kept under the cache, so a rebuild needs no network.
wheels=$cache/wheels
if [ "$(cat "$wheels/.pins" 2>/dev/null || true)" != "$pins" ]; then
  say "downloading wheels: $(echo "$pins" | tr '\n' ' ')"
  rm -rf "$wheels"
  # shellcheck disable=SC2086  # $pins is a list of requirement specifiers
  if ! "$pip_python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --dest "$wheels" $pins >"$work/pip.log" 2>&1; then
    cat "$work/pip.log" >&2
    fail "pip download of the runtime packages failed (see above)"
  fi
  echo "$pins" >"$wheels/.pins"
fi
# shellcheck disable=SC2086
"$pip_python" -m pip install --quiet --disable-pip-version-check --no-compile --no-index \
  --find-links "$wheels" --target "$rootfs/var/runtime" $pins
rm -rf "$rootfs/var/runtime/bin"

# Bytecode: every `sam local invoke` starts a fresh container, and compiling boto3 and the stdlib there costs
# about 1.5 s per invoke. The host's __pycache__ (three optimisation levels, tests included) was left out
# above; one level is compiled here, with in-image paths for tracebacks.
"$python" -m compileall -q -j 0 -s "$rootfs" -p / "$rootfs/var/lang/lib/python3.13" "$rootfs/var/runtime" \
  >"$work/compileall.log" 2>&1 || {
  cat "$work/compileall.log" >&2
  fail "compileall failed (see above)"
}
cp "$here/bootstrap" "$rootfs/var/runtime/bootstrap"
cp "$here/lambda-entrypoint.sh" "$rootfs/lambda-entrypoint.sh"
chmod 755 "$rootfs/var/runtime/bootstrap" "$rootfs/lambda-entrypoint.sh"

# --- Shared libraries: everything the ELF files above load (ldd), at the paths the loader looks in --------
copy_lib() {
  local path=$1
  [ -e "$rootfs$path" ] && return 0
  mkdir -p "$rootfs$(dirname "$path")"
  cp -L "$path" "$rootfs$path"
}
libs=$(
  find "$rootfs/var/lang" "$rootfs/var/runtime" -type f \( -name '*.so' -o -name '*.so.*' -o -name python3.13 \) |
    while read -r elf; do
      # Resolve libpython inside the new tree (extension modules may link it without a RUNPATH).
      out=$(LD_LIBRARY_PATH=$rootfs/var/lang/lib ldd "$elf" 2>&1) || continue # not a dynamic ELF
      if echo "$out" | grep -q 'not found'; then
        echo "MISSING $elf: $(echo "$out" | grep 'not found' | tr -s ' \t' ' ')"
      fi
      echo "$out" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
    done | sort -u
)
if echo "$libs" | grep -q '^MISSING'; then
  echo "$libs" | grep '^MISSING' >&2
  fail "shared libraries missing on this machine"
fi
# Plus what manylinux wheels may link without bundling (the policy's system libraries; pydantic_core needs
# librt, libdl, libpthread and libgcc_s): function dependencies in /var/task are unknown when this runs.
manylinux_libs=""
for name in libgcc_s.so.1 libstdc++.so.6 libm.so.6 libdl.so.2 librt.so.1 libc.so.6 libutil.so.1 \
  libpthread.so.0 libresolv.so.2 libcrypt.so.1 libnsl.so.1 libanl.so.1 libz.so.1; do
  [ -e "/lib/x86_64-linux-gnu/$name" ] || fail "/lib/x86_64-linux-gnu/$name missing on this machine"
  manylinux_libs="$manylinux_libs /lib/x86_64-linux-gnu/$name"
done
for lib in $libs $manylinux_libs; do
  case "$lib" in
    "$rootfs"/* | "$prefix"/*) ;; # inside the image already (libpython, wheels' bundled libraries)
    *) copy_lib "$lib" ;;
  esac
done

# --- A few files programs expect ----------------------------------------------------------------------------
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$rootfs/etc/group"
[ -f /usr/share/zoneinfo/UTC ] && cp /usr/share/zoneinfo/UTC "$rootfs/etc/localtime"

# --- Smoke check before importing: the interpreter starts and finds the runtime client --------------------
# (chroot needs no Docker, and a broken file system fails here with a clear message instead of at invoke.)
if [ "$(id -u)" -eq 0 ] && ! chroot "$rootfs" /bin/sh -c 'PYTHONPATH=/var/runtime LD_LIBRARY_PATH=/var/lang/lib \
    /var/lang/bin/python3.13 -c "import ssl, sqlite3, json, awslambdaric, boto3"' >"$work/check.log" 2>&1; then
  cat "$work/check.log" >&2
  fail "the new root file system cannot import awslambdaric/boto3 (see above)"
fi

old_id=$(docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
tar --numeric-owner --owner=0 --group=0 -C "$rootfs" -cf - . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV TZ=:/etc/localtime' \
  --change 'ENV PATH=/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin' \
  --change 'ENV LD_LIBRARY_PATH=/var/lang/lib:/lib64:/usr/lib64:/lib/x86_64-linux-gnu:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib' \
  --change 'ENV LAMBDA_TASK_ROOT=/var/task' \
  --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
  --change "LABEL warmkeeper.inputs=$inputs_hash" \
  --change "LABEL warmkeeper.python=$py_version" \
  --change 'WORKDIR /var/task' \
  --change 'ENTRYPOINT ["/lambda-entrypoint.sh"]' \
  - "$image" >/dev/null
new_id=$(docker image inspect -f '{{.Id}}' "$image")
if [ -n "$old_id" ] && [ "$old_id" != "$new_id" ]; then
  # The previous build is now untagged; images sam built on top of it keep it alive, which is fine.
  docker image rm "$old_id" >/dev/null 2>&1 || true
fi
# sam local invoke builds "<repo>:rapid-<arch>" on top of this image for a function without layers and
# reuses it while it exists: drop those, so the next invoke builds on the new base.
for stale in $(docker image ls --format '{{.Repository}}:{{.Tag}}' "${image%:*}" | grep -E ':(.*-)?rapid-' || true); do
  docker image rm "$stale" >/dev/null 2>&1 || say "note: could not remove $stale"
done
# Untagged leftovers of earlier builds (and of sam's images on them, which inherit the label) go too; only
# old ones, since a `sam local invoke` running now may hold fresh untagged steps of its own image build.
docker image prune --force --filter label=warmkeeper.inputs --filter until=30m >/dev/null 2>&1 || true
rm -rf "$rootfs" "$work/busybox"
say "built $image (inputs $inputs_hash, $(image_size)) in $((SECONDS - started))s"
