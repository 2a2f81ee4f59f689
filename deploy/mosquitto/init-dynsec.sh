#!/usr/bin/env bash
# Prepares Mosquitto's dynamic security for Pulse. Two steps, both idempotent:
#
#   init-dynsec.sh file       before the broker starts: creates the dynsec JSON
#                             ($DYNSEC_FILE) with the admin client if it is absent.
#   init-dynsec.sh accounts   once the broker runs: creates the ingestor's role
#                             and client through the broker ($MQTT_HOST:$MQTT_PORT).
#   init-dynsec.sh            both (the broker must be started between them by
#                             someone else, so this waits up to 30 s for it).
#
# Environment (defaults in brackets):
#   DYNSEC_FILE            [/var/lib/mosquitto/dynamic-security.json]
#   DYNSEC_ADMIN_USER      [pulse-dynsec-admin]  the user Pulse provisions tokens as
#   DYNSEC_ADMIN_PASSWORD  required
#   INGESTOR_USER          [pulse-ingestor]      the ingestor's service account
#   INGESTOR_PASSWORD      required for "accounts"
#   MQTT_HOST [127.0.0.1]  MQTT_PORT [1883]
#
# The ingestor role may subscribe to metrics/# and anything below it, directly
# or as a shared subscription ($share/<group>/metrics/+/#: dynsec checks the
# filter without its $share/<group>/ prefix), and receive those messages. It
# may publish nothing. Tenant roles (tenant-<slug>, tenant-<slug>:read,
# tenant-<slug>:ingest-read: publishing needs the ingest scope, subscribing
# read) and token clients (pulse_<id>) are created by Pulse itself, never here.
set -euo pipefail

DYNSEC_FILE=${DYNSEC_FILE:-/var/lib/mosquitto/dynamic-security.json}
DYNSEC_ADMIN_USER=${DYNSEC_ADMIN_USER:-pulse-dynsec-admin}
INGESTOR_USER=${INGESTOR_USER:-pulse-ingestor}
INGESTOR_ROLE=${INGESTOR_ROLE:-pulse-ingestor}
MQTT_HOST=${MQTT_HOST:-127.0.0.1}
MQTT_PORT=${MQTT_PORT:-1883}
CTRL=${MOSQUITTO_CTRL:-mosquitto_ctrl}

log() { printf 'init-dynsec: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need() { [ -n "${!1:-}" ] || die "$1 is required"; }

init_file() {
  need DYNSEC_ADMIN_PASSWORD
  if [ -s "$DYNSEC_FILE" ]; then
    log "$DYNSEC_FILE exists, kept"
    return 0
  fi
  local dir; dir=$(dirname "$DYNSEC_FILE")
  local own=("$DYNSEC_FILE")
  [ -d "$dir" ] || { mkdir -p "$dir"; own+=("$dir"); }
  "$CTRL" dynsec init "$DYNSEC_FILE" "$DYNSEC_ADMIN_USER" "$DYNSEC_ADMIN_PASSWORD" >/dev/null
  # The plugin rewrites the file (via <file>.new, so the directory must be
  # writable too) on every change, as the broker's user.
  if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto: "${own[@]}" || true
  fi
  chmod 600 "$DYNSEC_FILE"
  log "created $DYNSEC_FILE with admin $DYNSEC_ADMIN_USER"
}

# ctrl runs one dynsec command; "already exists" answers count as success.
ctrl() {
  local out
  if out=$("$CTRL" -h "$MQTT_HOST" -p "$MQTT_PORT" -u "$DYNSEC_ADMIN_USER" -P "$DYNSEC_ADMIN_PASSWORD" \
      dynsec "$@" 2>&1); then
    if grep -q 'Error:' <<<"$out" && ! grep -q 'already exists' <<<"$out"; then
      die "dynsec $1: $(grep 'Error:' <<<"$out")"
    fi
    return 0
  fi
  grep -q 'already exists' <<<"$out" && return 0
  die "dynsec $1: $(grep -v 'without encryption\|configuration changes\|^$' <<<"$out")"
}

wait_broker() {
  for _ in $(seq 1 60); do
    (exec 3<>"/dev/tcp/$MQTT_HOST/$MQTT_PORT") 2>/dev/null && return 0
    sleep 0.5
  done
  die "no broker on $MQTT_HOST:$MQTT_PORT"
}

init_accounts() {
  need DYNSEC_ADMIN_PASSWORD
  need INGESTOR_PASSWORD
  wait_broker
  ctrl createRole "$INGESTOR_ROLE"
  ctrl addRoleACL "$INGESTOR_ROLE" subscribePattern 'metrics/#' allow
  ctrl addRoleACL "$INGESTOR_ROLE" subscribeLiteral 'metrics/+/#' allow
  # Mosquitto 2.0 checks a shared subscription's whole filter, $share/<group>/ included.
  ctrl addRoleACL "$INGESTOR_ROLE" subscribePattern '$share/+/metrics/#' allow
  ctrl addRoleACL "$INGESTOR_ROLE" publishClientReceive 'metrics/#' allow
  ctrl addRoleACL "$INGESTOR_ROLE" unsubscribePattern 'metrics/#' allow
  ctrl createClient "$INGESTOR_USER" -p "$INGESTOR_PASSWORD"
  # An existing client gets the configured password (rotation).
  ctrl setClientPassword "$INGESTOR_USER" "$INGESTOR_PASSWORD"
  # addClientRole fails ("Internal error") when the client has the role already.
  if ! "$CTRL" -h "$MQTT_HOST" -p "$MQTT_PORT" -u "$DYNSEC_ADMIN_USER" -P "$DYNSEC_ADMIN_PASSWORD" \
      dynsec getClient "$INGESTOR_USER" 2>/dev/null | grep -q "[[:space:]]$INGESTOR_ROLE (priority"; then
    ctrl addClientRole "$INGESTOR_USER" "$INGESTOR_ROLE" 10
  fi
  log "ingestor account $INGESTOR_USER (role $INGESTOR_ROLE) ready on $MQTT_HOST:$MQTT_PORT"
}

case "${1:-all}" in
  file) init_file ;;
  accounts) init_accounts ;;
  all) init_file; init_accounts ;;
  *) die "usage: $0 [file|accounts|all]" ;;
esac
