#!/usr/bin/env bash
# The smoke check of the native stack (scripts/up-native.sh up), run by
# `scripts/up-native.sh smoke` (make native-smoke) or directly: 100 samples posted
# through its nginx with the demo token and read back, the printed demo login,
# and a fresh system.cpu.utilization point from the agent over MQTT.
set -euo pipefail

# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

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

cmd_smoke
