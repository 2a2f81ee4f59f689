# shellcheck shell=bash
# Sourced by scripts/up-native.sh (up, down) and scripts/native/smoke.sh (smoke):
# the settings, the port table, the state directory's paths, logging, and the
# process, tool, port and settings helpers they share. It only defines: sourcing
# it starts or changes nothing.
#
# Ports (all on 127.0.0.1; a default that is taken moves to the next free port, an
# explicit one must be free): PULSE_NATIVE_HTTP_PORT (nginx, 8089), PULSE_NATIVE_API_PORT
# (18080), PULSE_NATIVE_WORKER1_PORT (18081), PULSE_NATIVE_WORKER2_PORT (18082),
# PULSE_NATIVE_SCHEDULER_PORT (18083), PULSE_NATIVE_INGESTOR_PORT (18084),
# PULSE_NATIVE_AGENT_PORT (19108), PULSE_NATIVE_MQTT_PORT (18830).
# State (pids, logs, secrets, tokens, configs): PULSE_NATIVE_DIR (/var/tmp/pulse-native).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=${PULSE_NATIVE_BIN:-$ROOT/bin}
STATE=${PULSE_NATIVE_DIR:-/var/tmp/pulse-native}
DB_NAME=${PULSE_NATIVE_DB:-pulse_native}
DB_USER=${PULSE_NATIVE_DB_USER:-pulse_native}
REDIS_URL=${PULSE_NATIVE_REDIS_URL:-redis://127.0.0.1:6379/0}
# Every Redis key and channel of this stack starts with this (the tests use pulse:…).
PREFIX=${PULSE_NATIVE_PREFIX:-pulse-native:}
TENANT=demo
DEMO_EMAIL=${DEMO_EMAIL:-admin@demo.local}
AGENT_ID=${PULSE_NATIVE_AGENT_ID:-native-agent}
AGENT_INTERVAL=${PULSE_NATIVE_AGENT_INTERVAL:-5s}
TIMEOUT=${PULSE_NATIVE_TIMEOUT:-90} # seconds each process gets to become ready
DYNSEC_ADMIN_USER=pulse-dynsec-admin
INGESTOR_USER=pulse-ingestor
MARIADB=(mariadb -h 127.0.0.1 -P 3306 -u root)

# name, port variable, default port.
PORT_TABLE=(
  mosquitto PULSE_NATIVE_MQTT_PORT 18830
  api PULSE_NATIVE_API_PORT 18080
  worker-1 PULSE_NATIVE_WORKER1_PORT 18081
  worker-2 PULSE_NATIVE_WORKER2_PORT 18082
  scheduler PULSE_NATIVE_SCHEDULER_PORT 18083
  ingestor PULSE_NATIVE_INGESTOR_PORT 18084
  nginx PULSE_NATIVE_HTTP_PORT 8089
  agent PULSE_NATIVE_AGENT_PORT 19108
)
STOP_ORDER=(agent nginx ingestor scheduler worker-2 worker-1 api mosquitto)
declare -A PORT=()

log() { printf 'up-native: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# ---------------------------------------------------------------- processes

pid_file() { echo "$STATE/run/$1.pid"; }
log_file() { echo "$STATE/log/$1.log"; }

# alive NAME: its recorded PID runs and is still ours. Each process's command line
# names $STATE/<name>/ (a config, data or spool path), so a PID reused by another
# program, or a zombie (empty command line), is never taken for it.
alive() {
  local f pid cmd
  f=$(pid_file "$1")
  [ -s "$f" ] || return 1
  pid=$(<"$f")
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") && [[ $cmd == *"$STATE/$1/"* ]]
}

pid_of() { cat "$(pid_file "$1")"; }

# current NAME: NAME runs, from the binary now on disk. make build replaces the
# files in bin/, so a process started before it runs a deleted one: restarted,
# as compose recreates a container whose image changed.
current() {
  alive "$1" || return 1
  [[ $(readlink "/proc/$(pid_of "$1")/exe") != *" (deleted)" ]] && return 0
  log "$1 runs a binary rebuilt since it started: restarting it"
  stop "$1"
  return 1
}

# spawn NAME CMD...: CMD in a session of its own (a Ctrl-C in this terminal or
# closing it does not reach it), output appended to its log, PID recorded. setsid
# execs without forking here (a background job is no group leader), so $! is CMD.
spawn() {
  local name=$1; shift
  printf '=== %s up-native starts %s\n' "$(date '+%F %T')" "$*" >>"$(log_file "$name")"
  setsid "$@" </dev/null >>"$(log_file "$name")" 2>&1 &
  echo $! >"$(pid_file "$name")"
  log "started $name (pid $!)"
}

# fail NAME WHAT: the error, naming the process, with the end of its log.
fail() {
  log "ERROR: $1: $2"
  log "last lines of $(log_file "$1"):"
  tail -n 25 "$(log_file "$1")" >&2 || true
  exit 1
}

# wait_ready NAME URL: until URL answers 200; fails early when NAME exits, and
# names what the last answer said was missing (/readyz lists it).
wait_ready() {
  local name=$1 url=$2 deadline=$((SECONDS + TIMEOUT)) out="" t0=$SECONDS
  while :; do
    out=$(curl -sS -m 3 -w '\n%{http_code}' "$url" 2>&1) || true
    [ "$(tail -n 1 <<<"$out")" != 200 ] || break
    alive "$name" || fail "$name" "exited before it was ready ($url)"
    [ $SECONDS -lt $deadline ] || fail "$name" "not ready after ${TIMEOUT}s: $url answered: $(tr '\n' ' ' <<<"$out")"
    sleep 0.3
  done
  log "$name ready in $((SECONDS - t0)) s ($url: $(sed '$d' <<<"$out" | tr -d '\n' | cut -c1-90))"
}

# stop NAME: SIGTERM by its recorded PID (only if still ours), SIGKILL past 25 s
# (the roles drain for up to PULSE_SHUTDOWN_TIMEOUT, 15 s).
stop() {
  local name=$1 pid t0=$SECONDS
  if ! alive "$name"; then rm -f "$(pid_file "$name")"; return 0; fi
  pid=$(pid_of "$name")
  kill -TERM "$pid" 2>/dev/null || true
  while alive "$name"; do
    if [ $((SECONDS - t0)) -ge 25 ]; then
      log "$name (pid $pid) ignored SIGTERM for 25 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.5
      break
    fi
    sleep 0.2
  done
  rm -f "$(pid_file "$name")"
  log "stopped $name (pid $pid, $((SECONDS - t0)) s)"
}

# ---------------------------------------------------------------- tools and ports

# apt_install PKG...: root only; the packages' own daemons are kept from starting
# (Debian's nginx would take port 80, mosquitto 1883) by a temporary policy-rc.d.
apt_updated=0
apt_install() {
  [ "$(id -u)" = 0 ] || die "$* missing and not running as root; install them: sudo apt-get install -y $*"
  local guard=/usr/sbin/policy-rc.d made=0 rc=0
  if [ ! -e $guard ]; then printf '#!/bin/sh\nexit 101\n' >$guard && chmod 755 $guard && made=1; fi
  if [ $apt_updated = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?; apt_updated=1; fi
  log "installing $*"
  [ $rc != 0 ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
  [ $made = 0 ] || rm -f $guard
  return $rc
}

# tool CMD: its path; /usr/sbin is not in every user's PATH.
tool() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; }; }

ensure_tools() {
  local t
  for t in curl jq; do tool $t >/dev/null || apt_install $t; done
  tool mosquitto >/dev/null || apt_install mosquitto
  tool mosquitto_ctrl >/dev/null || apt_install mosquitto-clients
  if ! tool nginx >/dev/null; then apt_install nginx-light || apt_install nginx; fi
  for t in mariadb redis-cli; do tool $t >/dev/null || die "$t not found (scripts/services.sh installs MariaDB and Redis as root)"; done
  for t in pulse pulse-api pulse-worker pulse-scheduler pulse-ingestor pulse-agent; do
    [ -x "$BIN/$t" ] || die "$BIN/$t missing: run make build (make up-native does)"
  done
}

busy() {
  if command -v ss >/dev/null 2>&1; then [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; else (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; fi
}

# choose_ports: a running stack keeps its ports (ports.env, removed by down); an
# explicit PULSE_NATIVE_*_PORT must be free; a default that is taken moves up.
choose_ports() {
  local saved="$STATE/ports.env" i name var def p taken=" "
  declare -A was=()
  if [ -s "$saved" ]; then while IFS='=' read -r name p; do was[$name]=$p; done <"$saved"; fi
  for ((i = 0; i < ${#PORT_TABLE[@]}; i += 3)); do
    name=${PORT_TABLE[i]} var=${PORT_TABLE[i + 1]} def=${PORT_TABLE[i + 2]}
    if [ -n "${was[$name]:-}" ]; then
      p=${was[$name]}
      alive "$name" || ! busy "$p" || die "port $p of $name (from $saved) is taken by another process: run down, then up picks free ports"
    elif [ -n "${!var:-}" ]; then
      p=${!var}
      ! busy "$p" || die "$var=$p: the port is taken by another process"
    else
      p=$def
      while busy "$p" || [[ $taken == *" $p "* ]]; do p=$((p + 1)); done
      [ "$p" = "$def" ] || log "port $def is taken: $name uses $p"
    fi
    PORT[$name]=$p taken+="$p "
  done
  for name in "${!PORT[@]}"; do echo "$name=${PORT[$name]}"; done | sort >"$saved"
}

load_ports() {
  [ -s "$STATE/ports.env" ] || die "no stack in $STATE (run make up-native)"
  local name p
  while IFS='=' read -r name p; do PORT[$name]=$p; done <"$STATE/ports.env"
}

# ---------------------------------------------------------------- state and settings

# secrets: generated on the first up and kept, so the database user, the broker
# accounts and the demo login stay valid across restarts.
random() { local s; s=$(head -c 48 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9'); echo "${s:0:24}"; }

SECRETS_NEW=0
load_secrets() {
  local f="$STATE/secrets/secrets.env"
  if [ ! -s "$f" ]; then
    SECRETS_NEW=1
    {
      printf 'DB_PASSWORD=%q\n' "$(random)"
      printf 'DYNSEC_ADMIN_PASSWORD=%q\n' "$(random)"
      printf 'INGESTOR_PASSWORD=%q\n' "$(random)"
      printf 'PULSE_SECRET_KEY=%q\n' "$(head -c 32 /dev/urandom | base64 -w0)"
      printf 'DEMO_PASSWORD=%q\n' "${PULSE_NATIVE_DEMO_PASSWORD:-demo-$(random)}"
    } >"$f.new"
    mv "$f.new" "$f"
  fi
  # shellcheck disable=SC1090
  . "$f"
}

make_dirs() {
  mkdir -p "$STATE"/{run,log,secrets,mosquitto/data,nginx/tmp,agent/spool}
  touch "$STATE/.pulse-native" # marks the directory as ours for down --purge
  chmod 755 "$STATE"           # nginx's and mosquitto's unprivileged users enter it
  chmod 700 "$STATE/secrets"
  umask 077
}

# pulse.env: the settings every role and the CLI share (compose's x-pulse-env),
# also for the user: set -a; . $STATE/pulse.env; set +a; bin/pulse tenant list
write_pulse_env() {
  cat >"$STATE/pulse.env" <<EOF
PULSE_DATABASE_URL=mysql://$DB_USER:$DB_PASSWORD@127.0.0.1:3306/$DB_NAME
PULSE_REDIS_URL=$REDIS_URL
PULSE_QUEUE_STREAM=${PREFIX}ingest
PULSE_QUEUE_GROUP=${PREFIX}workers
PULSE_RATE_LIMIT_PREFIX=${PREFIX}rl:
PULSE_IDEMPOTENCY_PREFIX=${PREFIX}idem:
PULSE_INVALIDATION_CHANNEL=${PREFIX}invalidate
PULSE_LIVE_STREAM=${PREFIX}live
PULSE_MQTT_URL=tcp://127.0.0.1:${PORT[mosquitto]}
PULSE_MQTT_DYNSEC_USERNAME=$DYNSEC_ADMIN_USER
PULSE_MQTT_DYNSEC_PASSWORD=$DYNSEC_ADMIN_PASSWORD
PULSE_LOG_FORMAT=${PULSE_NATIVE_LOG_FORMAT:-json}
PULSE_SECRET_KEY=$PULSE_SECRET_KEY
PULSE_EXTERNAL_URL=http://localhost:${PORT[nginx]}
EOF
}

pulse_env() { set -a; . "$STATE/pulse.env"; set +a; }
pulse_cli() { (pulse_env && "$BIN/pulse" "$@"); }

# cli ARGS...: pulse_cli with its log lines kept out of the way; a failure stops
# up with the command and what it said.
cli() {
  local err="$STATE/run/cli.err"
  pulse_cli "$@" 2>"$err" || die "pulse $1 ${2:-}: $(grep -v '"level":"INFO"' "$err" | tail -n 5)"
}
