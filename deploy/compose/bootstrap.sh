#!/bin/sh
# The compose stack's one-shot bootstrap (after the migrate service), idempotent:
# a demo tenant, its admin user, an API token for the demo user's scripts, the
# go-agent's ingest token, and their broker accounts (pulse mqtt sync). Tokens
# are printed once by Pulse, so they are kept in the bootstrap volume and made
# only when absent there.
set -eu
out=/var/lib/pulse/bootstrap
tenant=${DEMO_TENANT:-demo}
email=${DEMO_EMAIL:-admin@demo.local}
: "${DEMO_PASSWORD:?DEMO_PASSWORD is required}"

if pulse tenant list | awk 'NR > 1 { print $2 }' | grep -qx "$tenant"; then
  echo "bootstrap: tenant $tenant exists"
else
  pulse tenant create "$tenant" --name "Demo"
fi

if msg=$(PULSE_USER_PASSWORD="$DEMO_PASSWORD" pulse user create --email "$email" --tenant "$tenant" --role admin 2>&1); then
  echo "bootstrap: user $email created"
else
  case "$msg" in
    *"already exists"*) echo "bootstrap: user $email exists" ;;
    *) echo "$msg" >&2; exit 1 ;;
  esac
fi

token() { # token FILE NAME SCOPES
  if [ -s "$out/$1" ]; then echo "bootstrap: token $2 exists"; return; fi
  pulse token create "$tenant" --name "$2" --scopes "$3" | tail -n 1 >"$out/$1.new"
  mv "$out/$1.new" "$out/$1"
  echo "bootstrap: token $2 created ($out/$1)"
}
token demo.token demo ingest,read
token agent.token go-agent ingest

# Each ingest token's broker account (username pulse_<id>, password = the token).
pulse mqtt sync
echo "bootstrap: done; log in as $email"
