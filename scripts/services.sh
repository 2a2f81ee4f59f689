#!/usr/bin/env bash
# Makes sure the services the tests talk to are up: MariaDB (3306), Redis (6379)
# and Mosquitto (1883) on 127.0.0.1. For each: already listening → nothing to do;
# installed but stopped → start it; missing → install it with apt-get (root only).
# Usage: scripts/services.sh [mariadb] [redis] [mosquitto]   (default: all three)
set -euo pipefail

log() { printf 'services: %s\n' "$*" >&2; }

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local name=$1 port=$2
  for _ in $(seq 1 60); do
    listening "$port" && { log "$name is up on 127.0.0.1:$port"; return 0; }
    sleep 0.5
  done
  log "ERROR: $name did not come up on 127.0.0.1:$port"; return 1
}

apt_updated=0
install_pkgs() {
  if [ "$(id -u)" != 0 ]; then
    log "ERROR: $* missing and not running as root; install them: sudo apt-get install -y $*"; return 1
  fi
  if [ $apt_updated = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get update -qq; apt_updated=1; fi
  log "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

ensure_mariadb() {
  listening 3306 && { log "MariaDB already listening on 3306"; return 0; }
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || install_pkgs mariadb-server
  log "starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  if [ ! -d /var/lib/mysql/mysql ]; then mariadb-install-db --user=mysql >/dev/null 2>&1 || true; fi
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
  wait_port MariaDB 3306
  # root over TCP without a password, as the tests expect on a developer machine.
  mariadb -uroot -e "SELECT 1" >/dev/null 2>&1 || true
}

ensure_redis() {
  listening 6379 && { log "Redis already listening on 6379"; return 0; }
  command -v redis-server >/dev/null 2>&1 || install_pkgs redis-server
  log "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/pulse-tests.log
  wait_port Redis 6379
}

ensure_mosquitto() {
  listening 1883 && { log "Mosquitto already listening on 1883"; return 0; }
  command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || install_pkgs mosquitto
  log "starting Mosquitto"
  local bin; bin=$(command -v mosquitto || echo /usr/sbin/mosquitto)
  "$bin" -d -c /etc/mosquitto/mosquitto.conf
  wait_port Mosquitto 1883
}

targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(mariadb redis mosquitto)
for t in "${targets[@]}"; do
  case "$t" in
    mariadb) ensure_mariadb ;;
    redis) ensure_redis ;;
    mosquitto) ensure_mosquitto ;;
    *) log "unknown service $t"; exit 2 ;;
  esac
done
