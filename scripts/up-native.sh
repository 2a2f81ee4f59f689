#!/usr/bin/env bash
# The compose stack (docker-compose.yml) as plain local processes, for machines
# without Docker:
#
#   scripts/up-native.sh up              start the stack, or whatever part of it is not running
#   scripts/up-native.sh down [--purge]  stop what `up` started; --purge also drops the
#                                        pulse_native database, its Redis keys and the state dir
#   scripts/up-native.sh smoke           100 samples through nginx and back, and the agent's CPU
#
# MariaDB and Redis are the machine's own (scripts/services.sh starts them when needed);
# Pulse keeps to its own database and Redis key prefix there, so the tests sharing them
# are not disturbed. Mosquitto and nginx are private instances: the machine's Mosquitto
# has no dynamic security, and a system nginx is not ours to reconfigure. Processes are
# stopped only by the PID `up` recorded, and only when that PID's command line still
# names our state directory: the machine's own daemons are never touched.
#
# Ports (all on 127.0.0.1; a default that is taken moves to the next free port, an
# explicit one must be free): PULSE_NATIVE_HTTP_PORT (nginx, 8089), PULSE_NATIVE_API_PORT
# (18080), PULSE_NATIVE_WORKER1_PORT (18081), PULSE_NATIVE_WORKER2_PORT (18082),
# PULSE_NATIVE_SCHEDULER_PORT (18083), PULSE_NATIVE_INGESTOR_PORT (18084),
# PULSE_NATIVE_AGENT_PORT (19108), PULSE_NATIVE_MQTT_PORT (18830).
# State (pids, logs, secrets, tokens, configs): PULSE_NATIVE_DIR (/var/tmp/pulse-native).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
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

# ---------------------------------------------------------------- MariaDB and Redis

setup_database() {
  "$ROOT/scripts/services.sh" mariadb redis
  local u
  {
    echo "CREATE DATABASE IF NOT EXISTS \`$DB_NAME\`;"
    for u in "'$DB_USER'@'127.0.0.1'" "'$DB_USER'@'localhost'"; do
      echo "CREATE USER IF NOT EXISTS $u IDENTIFIED BY '$DB_PASSWORD';"
      echo "ALTER USER $u IDENTIFIED BY '$DB_PASSWORD';"
      echo "GRANT ALL ON \`$DB_NAME\`.* TO $u;"
    done
  } | "${MARIADB[@]}" || die "cannot set up database $DB_NAME as root on 127.0.0.1:3306"
  log "database $DB_NAME and user $DB_USER ready"
}

# ---------------------------------------------------------------- Mosquitto

# The shipped deploy/mosquitto/mosquitto.conf with only the listener and the two
# paths replaced (as the dynsec tests do), each replacement checked.
mosquitto_conf() {
  local d="$STATE/mosquitto" port=${PORT[mosquitto]}
  sed -e "s#^listener 1883\$#listener $port 127.0.0.1#" \
    -e "s#^plugin_opt_config_file .*#plugin_opt_config_file $d/dynamic-security.json#" \
    -e "s#^persistence_location .*#persistence_location $d/data/#" \
    "$ROOT/deploy/mosquitto/mosquitto.conf" >"$d/mosquitto.conf.new"
  grep -qx "listener $port 127.0.0.1" "$d/mosquitto.conf.new" &&
    grep -qx "plugin_opt_config_file $d/dynamic-security.json" "$d/mosquitto.conf.new" &&
    grep -qx "persistence_location $d/data/" "$d/mosquitto.conf.new" ||
    die "deploy/mosquitto/mosquitto.conf changed: its listener 1883, plugin_opt_config_file or persistence_location line is gone"
  mv "$d/mosquitto.conf.new" "$d/mosquitto.conf"
  chmod 644 "$d/mosquitto.conf"
}

dynsec_env() {
  export DYNSEC_FILE="$STATE/mosquitto/dynamic-security.json" DYNSEC_ADMIN_USER DYNSEC_ADMIN_PASSWORD \
    INGESTOR_USER INGESTOR_PASSWORD MQTT_HOST=127.0.0.1 MQTT_PORT="${PORT[mosquitto]}"
}

dynsec() {
  mosquitto_ctrl -h 127.0.0.1 -p "${PORT[mosquitto]}" -u "$DYNSEC_ADMIN_USER" -P "$DYNSEC_ADMIN_PASSWORD" dynsec "$@"
}

start_mosquitto() {
  local d="$STATE/mosquitto" deadline=$((SECONDS + TIMEOUT))
  mosquitto_conf
  (dynsec_env && "$ROOT/deploy/mosquitto/init-dynsec.sh" file)
  # As root the broker drops to the mosquitto user, which rewrites the dynsec file.
  if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then chown -R mosquitto: "$d"; fi
  if alive mosquitto; then
    log "mosquitto already running (pid $(pid_of mosquitto))"
  else
    spawn mosquitto "$(tool mosquitto)" -c "$d/mosquitto.conf"
  fi
  # mosquitto_ctrl exits 0 when the broker does not answer (after 10 s, printing
  # nothing), so ready means: the admin role made by dynsec init is listed.
  until grep -qx admin <<<"$(dynsec listRoles 2>/dev/null)"; do
    alive mosquitto || fail mosquitto "exited at start"
    [ $SECONDS -lt $deadline ] || fail mosquitto "no dynamic-security answer on 127.0.0.1:${PORT[mosquitto]} after ${TIMEOUT}s"
    sleep 0.2
  done
  # init-dynsec.sh sets the ingestor's password every time, and Mosquitto drops a
  # client whose password is set: on a running stack, only when the account lacks its role.
  if grep -q "$INGESTOR_USER (priority" <<<"$(dynsec getClient "$INGESTOR_USER" 2>/dev/null)"; then
    log "mosquitto: ingestor account $INGESTOR_USER exists"
  else
    (dynsec_env && "$ROOT/deploy/mosquitto/init-dynsec.sh" accounts) || fail mosquitto "init-dynsec.sh accounts failed"
  fi
}

# ---------------------------------------------------------------- bootstrap

# token_ok FILE: the token in FILE is active and its broker account exists (a
# purged database or a new dynsec file makes it useless: it is then re-issued).
token_ok() {
  local tok id
  [ -s "$1" ] || return 1
  tok=$(<"$1") id=pulse_${tok:6:10}
  local tokens client
  tokens=$(cli token list "$TENANT") && client=$(dynsec getClient "$id" 2>&1) || return 1
  awk -v id="$id" '$1 == id && $NF == "active" { ok = 1 } END { exit !ok }' <<<"$tokens" && grep -q "^Username:" <<<"$client"
}

# token FILE NAME SCOPES: as deploy/compose/bootstrap.sh, made only when absent or no longer valid.
AGENT_TOKEN_CHANGED=0
token() {
  local f="$STATE/secrets/$1" tok
  if token_ok "$f"; then log "token $2 exists ($f)"; return 0; fi
  if [ -s "$f" ]; then
    tok=$(<"$f")
    log "token $2 in $f is no longer valid: re-issued"
    pulse_cli token revoke "pulse_${tok:6:10}" >/dev/null 2>&1 || true
  fi
  cli token create "$TENANT" --name "$2" --scopes "$3" | tail -n 1 >"$f.new"
  mv "$f.new" "$f"
  [ "$2" != native-agent ] || AGENT_TOKEN_CHANGED=1
  log "token $2 created ($f)"
}

bootstrap() {
  local tenants msg
  cli migrate >/dev/null
  tenants=$(cli tenant list)
  if awk -v t="$TENANT" 'NR > 1 && $2 == t { ok = 1 } END { exit !ok }' <<<"$tenants"; then
    log "tenant $TENANT exists"
  else
    cli tenant create "$TENANT" --name Demo >/dev/null
    log "tenant $TENANT created"
  fi
  if msg=$(PULSE_USER_PASSWORD=$DEMO_PASSWORD pulse_cli user create --email "$DEMO_EMAIL" --tenant "$TENANT" --role admin 2>&1); then
    log "user $DEMO_EMAIL created"
  else
    case "$msg" in
      *"already exists"*)
        log "user $DEMO_EMAIL exists"
        # Pulse has no password reset: a state dir made anew cannot know the old one.
        [ $SECRETS_NEW = 0 ] || log "WARNING: $DEMO_EMAIL predates $STATE/secrets: its password is not the one printed (down --purge, then up, makes it anew)"
        ;;
      *) die "pulse user create: $msg" ;;
    esac
  fi
  token demo.token demo ingest,read
  token agent.token native-agent ingest
  # Each ingest token's broker account (username pulse_<id>, password = the token).
  cli mqtt sync >/dev/null
}

# ---------------------------------------------------------------- Pulse roles, nginx, agent

# start_role NAME BINARY [VAR=VALUE...]: a Pulse role with the shared settings and
# its own HTTP port; --data-dir names $STATE/<name>/ (alive's mark; the role keeps
# nothing there in distributed mode).
start_role() {
  local name=$1 bin=$2; shift 2
  if current "$name"; then log "$name already running (pid $(pid_of "$name"))"; return 0; fi
  (
    pulse_env
    export PULSE_HTTP_ADDR="127.0.0.1:${PORT[$name]}" "$@"
    spawn "$name" "$BIN/$bin" --data-dir "$STATE/$name/data"
  )
}

# nginx.conf: Debian's nginx run privately (-p $STATE/nginx/) around
# deploy/compose/nginx/pulse.conf, whose upstream and listen lines only are changed.
NGINX_CHANGED=0
nginx_conf() {
  local d="$STATE/nginx"
  sed -e "s#server app:8080;#server 127.0.0.1:${PORT[api]};#" \
    -e "s#listen 80;#listen 127.0.0.1:${PORT[nginx]};#" \
    "$ROOT/deploy/compose/nginx/pulse.conf" >"$d/pulse.conf.new"
  grep -q "server 127.0.0.1:${PORT[api]};" "$d/pulse.conf.new" && grep -q "listen 127.0.0.1:${PORT[nginx]};" "$d/pulse.conf.new" ||
    die "deploy/compose/nginx/pulse.conf changed: no 'server app:8080;' or 'listen 80;' line to replace"
  cat >"$d/nginx.conf.new" <<EOF
# Generated by scripts/up-native.sh.
daemon off;
worker_processes 2;
pid $d/nginx.pid;
error_log stderr notice;
events { worker_connections 1024; }
http {
    access_log $STATE/log/nginx-access.log;
    client_body_temp_path $d/tmp/client_body;
    proxy_temp_path $d/tmp/proxy;
    fastcgi_temp_path $d/tmp/fastcgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    scgi_temp_path $d/tmp/scgi;
    include $d/pulse.conf;
}
EOF
  cmp -s "$d/pulse.conf.new" "$d/pulse.conf" && cmp -s "$d/nginx.conf.new" "$d/nginx.conf" || NGINX_CHANGED=1
  mv "$d/pulse.conf.new" "$d/pulse.conf"
  mv "$d/nginx.conf.new" "$d/nginx.conf"
  chmod 644 "$d/pulse.conf" "$d/nginx.conf"
}

start_nginx() {
  local d="$STATE/nginx" out
  nginx_conf
  out=$("$(tool nginx)" -e stderr -p "$d/" -c "$d/nginx.conf" -t 2>&1) || die "nginx -t refused $d/nginx.conf: $out"
  if ! alive nginx; then
    spawn nginx "$(tool nginx)" -e stderr -p "$d/" -c "$d/nginx.conf"
  elif [ $NGINX_CHANGED = 1 ]; then
    kill -HUP "$(pid_of nginx)" && log "nginx reloaded (configuration changed)"
  else
    log "nginx already running (pid $(pid_of nginx))"
  fi
}

# The spool directory is a flag, not PULSE_AGENT_SPOOL_DIR: it is alive()'s mark.
start_agent() {
  if alive agent && [ $AGENT_TOKEN_CHANGED = 1 ]; then stop agent; fi
  if current agent; then log "agent already running (pid $(pid_of agent))"; return 0; fi
  (
    export PULSE_AGENT_BROKER="tcp://127.0.0.1:${PORT[mosquitto]}" PULSE_AGENT_TENANT=$TENANT \
      PULSE_AGENT_TOKEN="$(<"$STATE/secrets/agent.token")" PULSE_AGENT_INTERVAL=$AGENT_INTERVAL \
      PULSE_AGENT_AGENT_ID=$AGENT_ID PULSE_AGENT_HTTP_ADDR="127.0.0.1:${PORT[agent]}"
    spawn agent "$BIN/pulse-agent" --spool-dir "$STATE/agent/spool"
  )
}

summary() {
  cat <<EOF

Pulse (native) is up in $STATE:
  dashboard + API   http://localhost:${PORT[nginx]}          (nginx -> pulse-api 127.0.0.1:${PORT[api]})
  demo login        $DEMO_EMAIL / $DEMO_PASSWORD
  API token (demo)  $STATE/secrets/demo.token   (ingest,read)
  MQTT              mqtt://127.0.0.1:${PORT[mosquitto]}        (private Mosquitto with dynamic security)
  /readyz           api :${PORT[api]}, worker-1 :${PORT[worker-1]}, worker-2 :${PORT[worker-2]}, scheduler :${PORT[scheduler]}, ingestor :${PORT[ingestor]}, agent :${PORT[agent]}
  database, Redis   $DB_NAME on 127.0.0.1:3306, keys ${PREFIX}* on $REDIS_URL
  CLI               set -a; . $STATE/pulse.env; set +a; $BIN/pulse tenant list
  logs              $STATE/log/
  check / stop      make native-smoke; make down-native (PURGE=1: also drop the database)
EOF
  # The machine's Redis is shared with the tests, so it is left as configured.
  if [ "$(redis-cli -u "$REDIS_URL" config get appendfsync 2>/dev/null | tail -n 1)" != always ]; then
    echo "  note              this Redis runs without appendfsync always: a 202 is not crash-durable (the roles log REDIS IS NOT DURABLE)"
  fi
}

cmd_up() {
  local t0=$SECONDS name
  ensure_tools
  make_dirs
  load_secrets
  choose_ports
  write_pulse_env
  setup_database
  start_mosquitto
  bootstrap
  start_role api pulse-api PULSE_TRUST_PROXY=true
  start_role worker-1 pulse-worker
  start_role worker-2 pulse-worker
  start_role scheduler pulse-scheduler
  start_role ingestor pulse-ingestor PULSE_MQTT_USERNAME=$INGESTOR_USER PULSE_MQTT_PASSWORD="$INGESTOR_PASSWORD" \
    PULSE_MQTT_CLIENT_ID=pulse-ingestor-native
  for name in api worker-1 worker-2 scheduler ingestor; do
    wait_ready "$name" "http://127.0.0.1:${PORT[$name]}/readyz"
  done
  start_nginx
  wait_ready nginx "http://127.0.0.1:${PORT[nginx]}/readyz"
  start_agent
  wait_ready agent "http://127.0.0.1:${PORT[agent]}/readyz"
  summary
  log "up in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- down

cmd_down() {
  local purge=0 name
  case "${1:-}" in
    "") ;;
    --purge) purge=1 ;;
    *) die "usage: $0 down [--purge]" ;;
  esac
  if [ -d "$STATE" ]; then
    [ -e "$STATE/.pulse-native" ] || die "$STATE was not made by up-native (no .pulse-native mark): left alone"
    for name in "${STOP_ORDER[@]}"; do stop "$name"; done
    rm -f "$STATE/ports.env"
  else
    log "nothing to stop: no $STATE"
  fi
  [ $purge = 1 ] || return 0
  "${MARIADB[@]}" -e "DROP DATABASE IF EXISTS \`$DB_NAME\`; DROP USER IF EXISTS '$DB_USER'@'127.0.0.1', '$DB_USER'@'localhost';" ||
    die "cannot drop database $DB_NAME"
  log "dropped database $DB_NAME and user $DB_USER"
  local keys
  keys=$(redis-cli -u "$REDIS_URL" --scan --pattern "${PREFIX}*" | wc -l)
  redis-cli -u "$REDIS_URL" --scan --pattern "${PREFIX}*" | xargs -r redis-cli -u "$REDIS_URL" unlink >/dev/null
  log "deleted $keys Redis keys ${PREFIX}*"
  if [ -d "$STATE" ]; then rm -rf "$STATE" && log "removed $STATE"; fi
}

# ---------------------------------------------------------------- smoke

# api GET|POST PATH [BODY]: through nginx with the demo token; prints the body,
# then the status on its own last line.
api() {
  local args=(-sS -m 10 -H "X-API-Token: $SMOKE_TOKEN" -w '\n%{http_code}')
  [ "$1" = GET ] || args+=(-X POST -H 'Content-Type: application/json' --data-binary "$3")
  curl "${args[@]}" "$SMOKE_URL$2"
}

# post WANT BODY COUNT: one POST /api/metrics, checked for status WANT (and
# accepted == COUNT when 202).
post() {
  local out code body
  out=$(api POST /api/metrics "$2") || die "smoke: POST /api/metrics through nginx failed: $out"
  code=$(tail -n 1 <<<"$out") body=$(sed '$d' <<<"$out")
  [ "$code" = "$1" ] || die "smoke: POST /api/metrics answered $code (want $1): $body"
  if [ "$1" = 202 ] && [ "$(jq -r .accepted <<<"$body")" != "$3" ]; then
    die "smoke: POST /api/metrics accepted $(jq -r .accepted <<<"$body") samples, want $3: $body"
  fi
}

# query PARAMS: every page of GET /api/metrics/query?PARAMS merged into one answer.
query() {
  local cursor="" out code body all='{"series":[]}'
  while :; do
    out=$(api GET "/api/metrics/query?$1${cursor:+&cursor=$cursor}") || die "smoke: GET /api/metrics/query through nginx failed: $out"
    code=$(tail -n 1 <<<"$out") body=$(sed '$d' <<<"$out")
    [ "$code" = 200 ] || die "smoke: GET /api/metrics/query?$1 answered $code: $body"
    all=$(jq -c --argjson page "$body" '.series += $page.series' <<<"$all")
    cursor=$(jq -r '.next_cursor // empty' <<<"$body")
    [ -n "$cursor" ] || break
  done
  echo "$all"
}

# login_check: the printed demo login opens the dashboard through nginx (GET
# /login sets the CSRF cookie, POST /login answers 303 /dashboards).
login_check() {
  local jar="$STATE/run/smoke.cookies" xsrf to
  rm -f "$jar"
  curl -sS -m 10 -c "$jar" -o /dev/null "$SMOKE_URL/login" || die "smoke: GET /login through nginx failed"
  xsrf=$(awk '$6 == "XSRF-TOKEN" { print $7 }' "$jar")
  to=$(curl -sS -m 10 -b "$jar" -c "$jar" -H "X-XSRF-TOKEN: $xsrf" -o /dev/null -w '%{http_code} %{redirect_url}' \
    --data-urlencode "email=$DEMO_EMAIL" --data-urlencode "password=$DEMO_PASSWORD" "$SMOKE_URL/login")
  rm -f "$jar"
  [[ $to == "303 "*/dashboards ]] || die "smoke: the demo login $DEMO_EMAIL (password in $STATE/secrets/secrets.env) answered '$to', want 303 to /dashboards"
  log "smoke: the demo login $DEMO_EMAIL opens the dashboard through nginx"
}

# sample NAME VALUE TAGS [TS]: one sample's JSON (TS already JSON: a number or a quoted string).
sample() { printf '{"name":"%s","value":%s,"tags":%s%s}' "$1" "$2" "$3" "${4:+,\"ts\":$4}"; }
join() { local IFS=,; echo "[$*]"; }

cmd_smoke() {
  local t0=$SECONDS i run base now a=() b=() c=() d=() ans points=0 deadline
  load_ports
  tool jq >/dev/null || die "smoke needs jq (apt-get install jq)"
  SMOKE_URL="http://127.0.0.1:${PORT[nginx]}"
  SMOKE_TOKEN=$(cat "$STATE/secrets/demo.token") || die "no demo token in $STATE/secrets (run make up-native)"
  curl -fsS -m 3 -o /dev/null "$SMOKE_URL/readyz" || die "smoke: nginx does not answer $SMOKE_URL/readyz (run make up-native)"
  [ -s "$STATE/secrets/secrets.env" ] || die "no $STATE/secrets/secrets.env (run make up-native)"
  load_secrets
  login_check
  run="smoke-$(date +%s)-$$" base=$(($(date +%s%3N) - 120000))
  local tags_a="{\"run\":\"$run\",\"host\":\"a\"}" tags_b="{\"run\":\"$run\",\"host\":\"b\"}" tags_c="{\"run\":\"$run\",\"host\":\"c\"}"

  # 40: series a and b at the same 15 timestamps (a repeated ts across series is two points).
  for i in $(seq 0 24); do a+=("$(sample native.smoke "$i" "$tags_a" $((base + i * 1000)))"); done
  for i in $(seq 0 14); do a+=("$(sample native.smoke $((100 + i)) "$tags_b" $((base + i * 1000)))"); done
  # 30 without ts: each takes the request's arrival time, so each is its own series.
  for i in $(seq 0 29); do b+=("$(sample native.smoke "$i" "{\"run\":\"$run\",\"seq\":\"$i\"}")"); done
  # 20 with the other ts forms: RFC 3339 with milliseconds, Unix seconds with a fraction.
  for i in $(seq 0 9); do
    c+=("$(sample native.smoke "$i" "$tags_c" "\"$(date -u -d "@$((base / 1000 + i))" +%Y-%m-%dT%H:%M:%S).500Z\"")")
    c+=("$(sample native.smoke $((10 + i)) "$tags_c" "$((base / 1000 + 10 + i)).250")")
  done
  # 10 resends of series a (same series, same ts): accepted, stored once, the first value kept.
  for i in $(seq 0 4); do d+=("$(sample native.smoke "$i" "$tags_a" $((base + i * 1000)))"); done
  for i in $(seq 5 9); do d+=("$(sample native.smoke 999 "$tags_a" $((base + i * 1000)))"); done

  post 202 "$(join "${a[@]}")" 40
  post 202 "$(join "${b[@]}")" 30
  post 202 "$(join "${c[@]}")" 20
  post 202 "$(join "${d[@]}")" 10
  # Two samples of one series at one millisecond in one request: refused whole.
  post 422 "$(join "$(sample native.smoke 1 "$tags_a" "$base")" "$(sample native.smoke 2 "$tags_a" "$base")")"
  log "smoke: posted 100 samples through nginx (90 distinct points) and one refused request"

  deadline=$((SECONDS + 30))
  while :; do
    now=$(date +%s%3N)
    ans=$(query "name=native.smoke&interval=raw&tag.run=$run&start=$((base - 60000))&end=$((now + 60000))&max_points=10000")
    points=$(jq '[.series[].points | length] | add // 0' <<<"$ans")
    [ "$points" -le 90 ] || die "smoke: the query returned $points points, want 90 (a repeated timestamp was stored twice?)"
    [ "$points" != 90 ] && [ $SECONDS -lt $deadline ] && { sleep 0.5; continue; }
    break
  done
  [ "$points" = 90 ] || die "smoke: after 30 s the query returned $points of the 90 points (worker log: $(log_file worker-1))"
  [ "$(jq '.series | length' <<<"$ans")" = 33 ] || die "smoke: want 33 series (a, b, c, 30 without ts): $(jq -c '[.series[].tags]' <<<"$ans")"
  jq -e '.series[] | select(.tags.host == "a") | [.points[].value] == [range(0; 25)]' <<<"$ans" >/dev/null ||
    die "smoke: series a does not hold its first values (a resend overwrote one?): $(jq -c '.series[] | select(.tags.host == "a") | [.points[].value]' <<<"$ans")"
  log "smoke: read back 90 points in 33 series through nginx; resends stored once"

  # The agent publishes every $AGENT_INTERVAL over MQTT: a fresh point, not one of an earlier run.
  deadline=$((SECONDS + 30)) points=0
  while :; do
    now=$(date +%s%3N)
    ans=$(query "name=system.cpu.utilization&interval=raw&tag.agent_id=$AGENT_ID&tag.cpu=total&start=$((now - 20000))&end=$((now + 60000))")
    points=$(jq '[.series[].points | length] | add // 0' <<<"$ans")
    [ "$points" = 0 ] && [ $SECONDS -lt $deadline ] && { sleep 1; continue; }
    break
  done
  [ "$points" -gt 0 ] || die "smoke: no system.cpu.utilization of agent $AGENT_ID for tenant $TENANT in the last 20 s after 30 s (logs: $(log_file agent), $(log_file ingestor))"
  log "smoke: agent $AGENT_ID's system.cpu.utilization arrived ($(jq -r '[.series[].points[]] | last | "\(.value) at \(.ts)"' <<<"$ans"))"
  log "smoke passed in $((SECONDS - t0)) s"
}

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  smoke) cmd_smoke ;;
  *) die "usage: $0 up | down [--purge] | smoke" ;;
esac
