#!/usr/bin/env bash
# Prepares what the dashboard's build and tests need.
#   scripts/frontend.sh node      Node.js >= 20.19 and npm present (else one clear line, exit 1)
#   scripts/frontend.sh chromium  Debian's Chromium at /usr/bin/chromium (apt-get install when
#                                 missing and running as root; Playwright's own download cannot
#                                 work on these machines)
set -euo pipefail

log() { printf 'frontend: %s\n' "$*" >&2; }

need_node() {
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "ERROR: Node.js >= 20.19 and npm are needed to build the dashboard (frontend/); install them (e.g. from nodejs.org) and retry"
    return 1
  fi
  local v major minor
  v=$(node -p 'process.versions.node')
  major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  if [ "$major" -lt 20 ] || { [ "$major" -eq 20 ] && [ "$minor" -lt 19 ]; }; then
    log "ERROR: Node.js $v is too old for the dashboard's build (Vite needs >= 20.19); install a newer Node.js and retry"
    return 1
  fi
}

need_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "ERROR: /usr/bin/chromium missing and not running as root; install it: sudo apt-get install -y chromium"
    return 1
  fi
  log "installing chromium (Debian)"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
}

case "${1:-}" in
  node) need_node ;;
  chromium) need_chromium ;;
  *) log "usage: $0 node|chromium"; exit 2 ;;
esac
