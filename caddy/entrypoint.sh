#!/bin/sh
# Splits WARMKEEPER_HEARTBEAT_URL (what the template passes) into the origin and path Caddy's
# reverse_proxy needs, refuses to start without a token, then runs Caddy with the shipped Caddyfile.
set -eu

fail() {
    echo "warmkeeper-caddy: $*" >&2
    exit 64
}

url="${WARMKEEPER_HEARTBEAT_URL:-}"
[ -n "$url" ] || fail "WARMKEEPER_HEARTBEAT_URL is not set (e.g. https://example.com/_warmkeeper/heartbeat)"
case "$url" in
    http://*/* | https://*/*) ;;
    *) fail "WARMKEEPER_HEARTBEAT_URL must be http(s)://host[:port]/path, got: $url" ;;
esac
[ -n "${WARMKEEPER_TOKEN:-}" ] || fail "WARMKEEPER_TOKEN is not set (the stack's heartbeat token secret)"

scheme="${url%%://*}"
rest="${url#*://}"
WARMKEEPER_HEARTBEAT_ORIGIN="${scheme}://${rest%%/*}"
WARMKEEPER_HEARTBEAT_PATH="/${rest#*/}"
WARMKEEPER_HEARTBEAT_PATH="${WARMKEEPER_HEARTBEAT_PATH%%\?*}"
export WARMKEEPER_HEARTBEAT_ORIGIN WARMKEEPER_HEARTBEAT_PATH

exec caddy run --config "${CADDYFILE:-/etc/caddy/Caddyfile}" --adapter caddyfile
