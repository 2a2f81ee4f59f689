#!/usr/bin/env bash
# The compose stack (docker-compose.yml) for `make dev`, `make down` and `make compose-test`.
#
#   scripts/compose.sh up      engine, certificates and images (scripts/docker-engine.sh),
#                              then the stack; returns once every healthcheck passes and
#                              the one-shots (migrate, bootstrap) have succeeded, then
#                              prints the URLs and the demo login
#   scripts/compose.sh down    stops the stack (add --volumes to drop its data), then the
#                              engine if scripts/docker-engine.sh started it
#   scripts/compose.sh wait    only the wait of "up"
#   scripts/compose.sh run …   any compose command with the project's files and images
#
# COMPOSE_PROJECT_NAME (default pulse), NGINX_HTTP_PORT (8088), MQTT_PORT (1884),
# MQTTS_PORT (8884), MAILPIT_PORT (8025) choose the project and its ports;
# PULSE_COMPOSE_FILES (default docker-compose.yml) the files, e.g. with the prod override,
# and PULSE_COMPOSE_ENV_FILE compose's --env-file (the prod override's secrets).
set -euo pipefail
cd "$(dirname "$0")/.."
export COMPOSE_PROJECT_NAME=${COMPOSE_PROJECT_NAME:-pulse}
WAIT_SECONDS=${PULSE_COMPOSE_WAIT:-300}

log() { printf 'compose: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

compose() {
  local files=() f
  for f in ${PULSE_COMPOSE_FILES:-docker-compose.yml}; do files+=(-f "$f"); done
  [ -z "${PULSE_COMPOSE_ENV_FILE:-}" ] || files+=(--env-file "$PULSE_COMPOSE_ENV_FILE")
  # shellcheck disable=SC2046 # the command is one or two words
  $(scripts/docker-engine.sh compose) "${files[@]}" "$@"
}

# The images: the variables naming them are kept for the later commands of this stack.
images() {
  local vars=/var/tmp/pulse-docker/images.env
  mkdir -p "$(dirname "$vars")"
  scripts/docker-engine.sh images >"$vars.new"
  mv "$vars.new" "$vars"
}
load_images() {
  local vars=/var/tmp/pulse-docker/images.env
  # shellcheck disable=SC1090
  [ ! -f "$vars" ] || . "$vars"
}

# services_without_profile: what `up` starts. Compose v2 lists just those; Debian's v1
# lists every service, so its own Python (and PyYAML) reads the profiles.
services_without_profile() {
  if [ "$(scripts/docker-engine.sh compose)" = docker-compose ] && [ -x /usr/bin/python3 ]; then
    compose config | /usr/bin/python3 -c 'import sys, yaml
for name, svc in sorted(yaml.safe_load(sys.stdin)["services"].items()):
    if not svc.get("profiles"): print(name)'
  else
    compose config --services | sort
  fi
}

containers() { docker ps -aq --filter "label=com.docker.compose.project=$COMPOSE_PROJECT_NAME"; }

# wait_healthy: every service of the stack (but the test profile's) has its containers
# running and healthy, and every one-shot exited 0; a one-shot that failed, or a
# container that exited, ends the wait at once with its logs.
wait_healthy() {
  local want; want=$(services_without_profile)
  local until=$((SECONDS + WAIT_SECONDS)) line name state health code service pending
  while :; do
    pending=""
    local seen=""
    while read -r name state health code service; do
      [ -n "$name" ] || continue
      seen+="$service"$'\n'
      case "$service" in
        migrate|bootstrap)
          if [ "$state" = exited ] && [ "$code" != 0 ]; then
            compose logs --no-color "$service" | tail -40 >&2
            die "the one-shot $service failed (exit $code)"
          fi
          [ "$state" = exited ] || pending+=" $service" ;;
        playwright) ;;
        *)
          if [ "$state" = exited ] || [ "$state" = dead ]; then
            compose logs --no-color "$service" | tail -40 >&2
            die "$name exited (code $code)"
          fi
          [ "$health" = healthy ] || pending+=" $name($health)" ;;
      esac
    done < <(containers | xargs -r docker inspect -f \
      '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}} {{.State.ExitCode}} {{index .Config.Labels "com.docker.compose.service"}}')
    local missing; missing=$(comm -23 <(echo "$want") <(echo -n "$seen" | sort -u) | tr '\n' ' ')
    [ -z "$missing" ] || pending+=" not-created:[$missing]"
    [ -n "$pending" ] || { log "every service is healthy"; return 0; }
    [ $SECONDS -lt $until ] || die "not healthy after ${WAIT_SECONDS}s:$pending"
    sleep 2
  done
}

urls() {
  cat <<EOF

  Pulse is up (compose project $COMPOSE_PROJECT_NAME):
    Dashboard and API  http://localhost:${NGINX_HTTP_PORT:-8088}
    MQTT               mqtt://localhost:${MQTT_PORT:-1884}   (TLS: ${MQTTS_PORT:-8884}, CA deploy/compose/certs/ca.crt)
    Mail (mailpit)     http://localhost:${MAILPIT_PORT:-8025}
    Demo login         ${DEMO_EMAIL:-admin@demo.local} / ${DEMO_PASSWORD:-pulse-demo-password}
    Demo API token     scripts/compose.sh run exec -T go-agent cat /var/lib/pulse/bootstrap/demo.token
  Stop it with: make down

EOF
}

up() {
  scripts/docker-engine.sh engine
  scripts/docker-engine.sh certs
  images
  load_images
  log "starting the stack ($COMPOSE_PROJECT_NAME)"
  compose up -d --remove-orphans
  wait_healthy
  urls
}

down() {
  load_images
  if docker info >/dev/null 2>&1; then
    compose --profile test down --remove-orphans "$@"
  fi
  [ "${PULSE_KEEP_ENGINE:-}" = 1 ] || scripts/docker-engine.sh stop
}

case "${1:-}" in
  up) up ;;
  down) shift; down "$@" ;;
  wait) load_images; wait_healthy ;;
  run) shift; load_images; compose "$@" ;;
  *) die "usage: $0 up|down [--volumes]|wait|run <compose args>" ;;
esac
