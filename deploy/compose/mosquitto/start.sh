#!/bin/sh
# Mosquitto of the compose stack (the official eclipse-mosquitto:2 image or the
# local one; POSIX sh, since the official image has no bash). On every start:
#   1. on first start, the dynamic-security file with the Pulse admin account
#      (DYNSEC_ADMIN_USER / DYNSEC_ADMIN_PASSWORD), kept in the data volume;
#   2. the config: deploy/mosquitto/mosquitto.conf (mounted read-only) with the
#      container's paths, plus a TLS listener on 8883 when certificates are mounted;
#   3. the broker, then the ingestor's account (INGESTOR_USER / INGESTOR_PASSWORD,
#      as deploy/mosquitto/init-dynsec.sh makes it) through the dynsec API.
# The healthcheck passes once /tmp/pulse-ready exists: the accounts are there.
set -eu
: "${DYNSEC_ADMIN_USER:=pulse-dynsec-admin}" "${INGESTOR_USER:=pulse-ingestor}"
: "${DYNSEC_ADMIN_PASSWORD:?DYNSEC_ADMIN_PASSWORD is required}" "${INGESTOR_PASSWORD:?INGESTOR_PASSWORD is required}"
data=/mosquitto/data
conf=/tmp/mosquitto.conf
certs=/mosquitto/certs
rm -f /tmp/pulse-ready

if [ ! -s "$data/dynamic-security.json" ]; then
  mosquitto_ctrl dynsec init "$data/dynamic-security.json" "$DYNSEC_ADMIN_USER" "$DYNSEC_ADMIN_PASSWORD" >/dev/null
  echo "mosquitto-start: created the dynamic-security file with admin $DYNSEC_ADMIN_USER" >&2
fi
# Started as root (the official image), the broker drops to the mosquitto user,
# which must be able to rewrite the file.
if [ "$(id -u)" = 0 ]; then chown -R mosquitto "$data"; fi

sed -e 's#/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so#/usr/lib/mosquitto_dynamic_security.so#' \
    -e "s#/var/lib/mosquitto/dynamic-security.json#$data/dynamic-security.json#" \
    -e "s#^persistence_location .*#persistence_location $data/#" \
    /mosquitto/config/mosquitto.conf >"$conf"
if [ -s "$certs/server.crt" ] && [ -s "$certs/server.key" ]; then
  printf '\nlistener 8883\ncafile %s/ca.crt\ncertfile %s/server.crt\nkeyfile %s/server.key\n' "$certs" "$certs" "$certs" >>"$conf"
  echo "mosquitto-start: TLS listener on 8883" >&2
else
  echo "mosquitto-start: no certificates in $certs: no TLS listener" >&2
fi

mosquitto -c "$conf" &
broker=$!
trap 'kill -TERM $broker 2>/dev/null' TERM INT

ctrl() {
  out=$(mosquitto_ctrl -h 127.0.0.1 -p 1883 -u "$DYNSEC_ADMIN_USER" -P "$DYNSEC_ADMIN_PASSWORD" dynsec "$@" 2>&1) || true
  case "$out" in
    *"already exists"*|"") return 0 ;;
    *Error*) echo "mosquitto-start: dynsec $1: $out" >&2; return 1 ;;
  esac
}
i=0
# mosquitto_ctrl exits 0 with no output when the broker does not answer: wait
# until it lists the admin role that the init made.
until mosquitto_ctrl -h 127.0.0.1 -p 1883 -u "$DYNSEC_ADMIN_USER" -P "$DYNSEC_ADMIN_PASSWORD" dynsec listRoles 2>/dev/null | grep -qx admin; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "mosquitto-start: the broker did not answer" >&2; exit 1; }
  sleep 0.2
done
ctrl createRole pulse-ingestor
ctrl addRoleACL pulse-ingestor subscribePattern 'metrics/#' allow
ctrl addRoleACL pulse-ingestor subscribeLiteral 'metrics/+/#' allow
ctrl addRoleACL pulse-ingestor subscribePattern '$share/+/metrics/#' allow
ctrl addRoleACL pulse-ingestor publishClientReceive 'metrics/#' allow
ctrl addRoleACL pulse-ingestor unsubscribePattern 'metrics/#' allow
ctrl createClient "$INGESTOR_USER" -p "$INGESTOR_PASSWORD"
ctrl setClientPassword "$INGESTOR_USER" "$INGESTOR_PASSWORD"
if ! mosquitto_ctrl -h 127.0.0.1 -p 1883 -u "$DYNSEC_ADMIN_USER" -P "$DYNSEC_ADMIN_PASSWORD" dynsec getClient "$INGESTOR_USER" 2>/dev/null |
    grep -q "pulse-ingestor (priority"; then
  ctrl addClientRole "$INGESTOR_USER" pulse-ingestor 10
fi
touch /tmp/pulse-ready
echo "mosquitto-start: ingestor account $INGESTOR_USER ready" >&2
wait $broker
