#!/usr/bin/env bash
# The Docker engine and the images of the compose stack (docker-compose.yml).
#
#   scripts/docker-engine.sh engine   a running engine: installs docker.io, a compose and
#                                     debootstrap from Debian when missing (root only), starts
#                                     dockerd when it is installed but not running, with its
#                                     own data root ($PULSE_DOCKER_ROOT), and records that it
#                                     did so ("stop" stops only such a daemon)
#   scripts/docker-engine.sh images   every image the stack needs; prints the compose
#                                     variables that name them (eval it)
#   scripts/docker-engine.sh certs    a dev CA and server certificate for the TLS listeners
#   scripts/docker-engine.sh stop     stops the dockerd this script started, if any
#   scripts/docker-engine.sh multistage  the root Dockerfile, offline, with local stand-ins
#                                     for its golang and node bases (slow; not in make test)
#
# Images: where a registry answers (or PULSE_IMAGES=registry), the official ones and the
# multi-stage Dockerfile. Where none does (this project's CI machines), every image is
# built from a local Debian base made with debootstrap, with Debian's packages, and the
# Pulse image from the binaries that `make build` made on the host. PULSE_IMAGES=offline
# forces that path.
set -euo pipefail
cd "$(dirname "$0")/.."

ROOT=${PULSE_DOCKER_ROOT:-/var/tmp/pulse-docker}
BASE_IMAGE=pulse-local/debian:bookworm
MIRROR=${PULSE_DEBIAN_MIRROR:-http://deb.debian.org/debian}
MAILPIT_VERSION=v1.33.1
export DOCKER_BUILDKIT=0 # the classic builder: no buildx plugin needed

log() { printf 'docker-engine: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

apt_install() {
  [ "$(id -u)" = 0 ] || die "$* missing and not running as root; install them: sudo apt-get install -y $*"
  log "installing $* from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

compose_cmd() {
  if docker compose version >/dev/null 2>&1; then echo "docker compose"; return; fi
  command -v docker-compose >/dev/null 2>&1 && { echo docker-compose; return; }
  return 1
}

engine() {
  local want=()
  command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ] || want+=(docker.io)
  command -v docker >/dev/null 2>&1 || want+=(docker.io)
  compose_cmd >/dev/null || want+=(docker-compose)
  command -v debootstrap >/dev/null 2>&1 || want+=(debootstrap)
  command -v openssl >/dev/null 2>&1 || want+=(openssl)
  [ ${#want[@]} = 0 ] || apt_install $(printf '%s\n' "${want[@]}" | sort -u)
  if docker info >/dev/null 2>&1; then log "the Docker engine is running"; return 0; fi
  [ "$(id -u)" = 0 ] || die "dockerd is not running; start it (sudo dockerd) or run this as root"
  mkdir -p "$ROOT/data" "$ROOT/exec"
  log "starting dockerd (data root $ROOT/data, log $ROOT/dockerd.log)"
  # --iptables=false: nothing in the stack needs to leave the machine, and some
  # sandboxes refuse iptables; published ports go through docker-proxy.
  setsid "$(command -v dockerd || echo /usr/sbin/dockerd)" --data-root "$ROOT/data" --exec-root "$ROOT/exec" \
    --pidfile "$ROOT/dockerd.pid" --iptables=false >"$ROOT/dockerd.log" 2>&1 </dev/null &
  echo $! >"$ROOT/started-by-pulse"
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && { log "dockerd is up"; return 0; }; sleep 0.5; done
  tail -20 "$ROOT/dockerd.log" >&2
  die "dockerd did not come up within 30 s"
}

stop() {
  [ -f "$ROOT/started-by-pulse" ] || { log "dockerd was not started by this script: left running"; return 0; }
  local pid; pid=$(cat "$ROOT/started-by-pulse")
  rm -f "$ROOT/started-by-pulse"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || { log "dockerd stopped"; return 0; }; sleep 0.5; done
  kill -9 "$pid" 2>/dev/null || true
}

# registry_answers: can the engine pull an official image? One small pull, 20 s at most.
registry_answers() {
  [ "${PULSE_IMAGES:-auto}" = registry ] && return 0
  [ "${PULSE_IMAGES:-auto}" = offline ] && return 1
  timeout 20 docker pull -q debian:bookworm-slim >/dev/null 2>&1
}

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

local_base() {
  have_image "$BASE_IMAGE" && return 0
  local dir="$ROOT/rootfs"
  rm -rf "$dir"
  log "no registry: making the local base $BASE_IMAGE with debootstrap (about 30 s)"
  debootstrap --variant=minbase bookworm "$dir" "$MIRROR" >"$ROOT/debootstrap.log" 2>&1 ||
    { tail -20 "$ROOT/debootstrap.log" >&2; die "debootstrap failed (log $ROOT/debootstrap.log)"; }
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  # The base is made for this machine: it trusts the CAs the host added (a network
  # that inspects TLS, as here, would otherwise refuse npm's and Go's downloads in
  # an image build); an image installing ca-certificates takes them in.
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$dir/usr/local/share/ca-certificates"
    cp /usr/local/share/ca-certificates/*.crt "$dir/usr/local/share/ca-certificates/"
  fi
  tar -C "$dir" -c . | docker import -c 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  rm -rf "$dir"
}

# build NAME DOCKERFILE CONTEXT [build args…]: once per content of its inputs (the
# label pulse.inputs holds their hash), so a second run reuses the image.
build() {
  local name=$1 file=$2 ctx=$3; shift 3
  # The inputs: the Dockerfile, the build args, the context's files, and the base
  # images the args name (a new local base rebuilds everything on it).
  local sum; sum=$( (cat "$file"; printf '%s\n' "$@"
    for a in "$@"; do docker image inspect -f '{{.Id}}' "${a#*=}" 2>/dev/null || true; done
    find "$ctx" -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -c1-16)
  if [ "$(docker image inspect -f '{{index .Config.Labels "pulse.inputs"}}' "$name" 2>/dev/null)" = "$sum" ]; then
    log "$name is up to date"; return 0
  fi
  log "building $name"
  local args=(--network host -f "$file" -t "$name" --label "pulse.inputs=$sum")
  for a in "$@"; do args+=(--build-arg "$a"); done
  local out="$ROOT/build-${name//[\/:]/_}.log"
  docker build "${args[@]}" "$ctx" >"$out" 2>&1 || { tail -30 "$out" >&2; die "building $name failed (log $out)"; }
}

# stage DIR FILE…: a small build context holding just these files.
stage() {
  local dir="$ROOT/ctx/$1"; shift
  rm -rf "$dir"; mkdir -p "$dir"
  for f in "$@"; do cp -a "$f" "$dir/"; done
  echo "$dir"
}

mailpit_binary() {
  local cache="${HOME}/.cache/pulse-test/bin"
  if [ ! -x "$cache/mailpit" ]; then
    log "go install github.com/axllent/mailpit@$MAILPIT_VERSION"
    mkdir -p "$cache"
    GOBIN="$cache" GOFLAGS=-mod=mod go install "github.com/axllent/mailpit@$MAILPIT_VERSION"
  fi
  echo "$cache/mailpit"
}

images_offline() {
  local_base
  [ -x bin/pulse-api ] || die "bin/ has no binaries: run make build first"
  local d=deploy/docker
  build pulse-local/pulse:dev $d/runtime.Dockerfile "$(stage pulse bin)" BASE_IMAGE=$BASE_IMAGE
  build pulse-local/mariadb:10.11 $d/mariadb.Dockerfile "$(stage mariadb $d/mariadb-entrypoint.sh)" BASE_IMAGE=$BASE_IMAGE
  build pulse-local/redis:7 $d/redis.Dockerfile "$(stage redis)" BASE_IMAGE=$BASE_IMAGE
  build pulse-local/mosquitto:2 $d/mosquitto.Dockerfile "$(stage mosquitto)" BASE_IMAGE=$BASE_IMAGE
  build pulse-local/nginx:1.22 $d/nginx.Dockerfile "$(stage nginx)" BASE_IMAGE=$BASE_IMAGE
  build pulse-local/mailpit:$MAILPIT_VERSION $d/mailpit.Dockerfile "$(stage mailpit "$(mailpit_binary)")" BASE_IMAGE=$BASE_IMAGE
  # Playwright needs Node ≥ 20, which Debian bookworm does not ship: offline, the
  # host's node binary (the one `make frontend` used) goes into the image.
  build pulse-local/node:20 $d/node-local.Dockerfile "$(stage node "$(readlink -f "$(command -v node)")")" BASE_IMAGE=$BASE_IMAGE
  build pulse-local/playwright:dev $d/playwright.Dockerfile "$(stage playwright)" NODE_IMAGE=pulse-local/node:20
  cat <<EOF
export PULSE_IMAGE=pulse-local/pulse:dev
export MARIADB_IMAGE=pulse-local/mariadb:10.11
export REDIS_IMAGE=pulse-local/redis:7
export MOSQUITTO_IMAGE=pulse-local/mosquitto:2
export NGINX_IMAGE=pulse-local/nginx:1.22
export MAILPIT_IMAGE=pulse-local/mailpit:$MAILPIT_VERSION
export PLAYWRIGHT_IMAGE=pulse-local/playwright:dev
EOF
}

images_registry() {
  log "a registry answers: official base images and the multi-stage Dockerfile"
  docker build -q --network host -t pulse/pulse:dev . >/dev/null
  docker build -q --network host -f deploy/docker/playwright.Dockerfile -t pulse/playwright:dev deploy/docker >/dev/null
  cat <<EOF
export PULSE_IMAGE=pulse/pulse:dev
export PLAYWRIGHT_IMAGE=pulse/playwright:dev
EOF
}

images() {
  if registry_answers; then images_registry; else images_offline; fi
}

# multistage: the root Dockerfile itself, offline, with local stand-ins for the
# golang and node images (the host's Go and Node on the local base). Slow (it
# compiles everything in the container); `make test` uses the prebuilt path.
multistage() {
  local_base
  local d=deploy/docker
  build pulse-local/golang:1.26 $d/go-local.Dockerfile "$(stage golang "$(go env GOROOT)")" BASE_IMAGE=$BASE_IMAGE
  build pulse-local/node-npm:20 $d/node-npm-local.Dockerfile \
    "$(stage node-npm "$(readlink -f "$(command -v node)")" "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")")" BASE_IMAGE=$BASE_IMAGE
  log "building the multi-stage Dockerfile (several minutes)"
  docker build --network host -t pulse-local/pulse:multistage --build-arg GO_IMAGE=pulse-local/golang:1.26 \
    --build-arg NODE_IMAGE=pulse-local/node-npm:20 --build-arg RUNTIME_IMAGE=$BASE_IMAGE . >"$ROOT/build-multistage.log" 2>&1 ||
    { tail -30 "$ROOT/build-multistage.log" >&2; die "the multi-stage build failed (log $ROOT/build-multistage.log)"; }
  docker run --rm pulse-local/pulse:multistage pulse --help >/dev/null
  log "pulse-local/pulse:multistage built and runs"
}

# certs: a dev CA and one server certificate (nginx, mosquitto) in deploy/compose/certs,
# made once. The prod override mounts real ones instead.
certs() {
  local dir=deploy/compose/certs
  [ -s "$dir/server.crt" ] && return 0
  mkdir -p "$dir"
  log "making a dev CA and server certificate in $dir"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=Pulse dev CA" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout "$dir/server.key" -out "$dir/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,DNS:nginx,DNS:mosquitto,IP:127.0.0.1\n' >"$dir/server.ext"
  openssl x509 -req -in "$dir/server.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 825 -extfile "$dir/server.ext" -out "$dir/server.crt" 2>/dev/null
  rm -f "$dir/server.csr" "$dir/server.ext" "$dir/ca.srl"
  chmod 644 "$dir"/*.crt "$dir"/*.key # read by the brokers' non-root users in the containers
}

case "${1:-}" in
  engine) engine ;;
  images) images ;;
  certs) certs ;;
  stop) stop ;;
  multistage) multistage ;;
  compose) compose_cmd ;;
  *) die "usage: $0 engine|images|certs|stop|multistage|compose" ;;
esac
