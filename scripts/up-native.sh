#!/usr/bin/env bash
# The compose stack (docker-compose.yml) as plain local processes, for machines
# without Docker:
#
#   scripts/up-native.sh up              start the stack, or whatever part of it is not running
#   scripts/up-native.sh down [--purge]  stop what `up` started; --purge also drops the
#                                        pulse_native database, its Redis keys and the state dir
#   scripts/up-native.sh smoke           100 samples through nginx and back, and the agent's CPU
#                                        (runs scripts/native/smoke.sh)
#
# MariaDB and Redis are the machine's own (scripts/services.sh starts them when needed);
# Pulse keeps to its own database and Redis key prefix there, so the tests sharing them
# are not disturbed. Mosquitto and nginx are private instances: the machine's Mosquitto
# has no dynamic security, and a system nginx is not ours to reconfigure. Processes are
# stopped only by the PID `up` recorded, and only when that PID's command line still
# names our state directory: the machine's own daemons are never touched.
#
# Up and down are here; the settings (ports PULSE_NATIVE_*_PORT, state PULSE_NATIVE_DIR)
# and the helpers shared with the smoke check are in scripts/native/common.sh.
set -euo pipefail

# shellcheck source=native/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/native/common.sh"

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

case "${1:-}" in
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  smoke) exec "$ROOT/scripts/native/smoke.sh" ;;
  *) die "usage: $0 up | down [--purge] | smoke" ;;
esac
