#!/bin/bash
# First start on an empty data dir: install the system tables and create the
# database and user the MARIADB_* variables name (as the official image does),
# in bootstrap mode, so nothing answers on the network until it is done.
set -euo pipefail
datadir=/var/lib/mysql
if [ ! -d "$datadir/mysql" ]; then
  : "${MARIADB_ROOT_PASSWORD:?MARIADB_ROOT_PASSWORD is required}"
  echo "mariadb-entrypoint: initialising $datadir" >&2
  chown -R mysql:mysql "$datadir"
  mariadb-install-db --user=mysql --datadir="$datadir" --skip-test-db >/dev/null
  esc() { printf '%s' "$1" | sed "s/'/''/g"; }
  {
    echo "FLUSH PRIVILEGES;"
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$(esc "$MARIADB_ROOT_PASSWORD")';"
    echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$(esc "$MARIADB_ROOT_PASSWORD")';"
    echo "GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "${MARIADB_DATABASE:-}" ]; then
      echo "CREATE DATABASE IF NOT EXISTS \`$MARIADB_DATABASE\`;"
    fi
    if [ -n "${MARIADB_USER:-}" ]; then
      echo "CREATE USER IF NOT EXISTS '$(esc "$MARIADB_USER")'@'%' IDENTIFIED BY '$(esc "${MARIADB_PASSWORD:-}")';"
      [ -z "${MARIADB_DATABASE:-}" ] || echo "GRANT ALL ON \`$MARIADB_DATABASE\`.* TO '$(esc "$MARIADB_USER")'@'%';"
    fi
  } | mariadbd --user=mysql --datadir="$datadir" --bootstrap --skip-networking >/dev/null
fi
if [ "$1" = mariadbd ]; then
  shift
  exec mariadbd --user=mysql --datadir="$datadir" --bind-address=0.0.0.0 "$@"
fi
exec "$@"
