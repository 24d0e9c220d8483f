#!/usr/bin/env bash
# bench-tokens.sh: GET /api/v1/me under wrk on the real binary, authenticated with a session's
# access token (JWT) and with a personal access token (every PAT request also goes to the
# token's access log), on PostgreSQL and Redis.
#
# Uses a database of its own (atelier_bench_tokens, dropped and made anew each run) on the
# PostgreSQL of TEST_DATABASE_URL and the Redis of TEST_REDIS_URL, like the test suite.
#   BENCH_PORT (18081)  WRK_THREADS (2)  WRK_CONNECTIONS (32)  WRK_DURATION (10s)
# The machine's load average is printed with every figure: the cores may be shared.
set -euo pipefail

cd "$(dirname "$0")/.."
: "${TEST_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
: "${TEST_REDIS_URL:=redis://127.0.0.1:6379/0}"
: "${BENCH_PORT:=18081}"
: "${WRK_THREADS:=2}"
: "${WRK_CONNECTIONS:=32}"
: "${WRK_DURATION:=10s}"

for tool in wrk curl jq psql; do
	command -v "$tool" >/dev/null || { echo "bench-tokens: $tool is required (apt-get install -y $tool)" >&2; exit 1; }
done

log() { printf 'bench-tokens: %s\n' "$*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

db=atelier_bench_tokens
dsn="$(printf '%s' "$TEST_DATABASE_URL" | sed -E "s#/[^/?]*(\?|$)#/$db\1#")"
psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"

work="$(mktemp -d)"
server_pid=""
cleanup() {
	if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
		kill "$server_pid" && wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work"
	psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
}
trap cleanup EXIT

log "building bin/app"
make build >/dev/null
export DATABASE_URL="$dsn" REDIS_URL="$TEST_REDIS_URL" DATA_DIR="$work/data" HTTP_ADDR="127.0.0.1:$BENCH_PORT" \
	JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" LOG_LEVEL=warn ACCESS_TOKEN_TTL=1h
./bin/app migrate up >/dev/null
./bin/app serve >"$work/server.log" 2>&1 &
server_pid=$!
base="http://127.0.0.1:$BENCH_PORT"
for _ in $(seq 1 150); do
	curl -fsS "$base/healthz" >/dev/null 2>&1 && break
	kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
	sleep 0.2
done

curl -fsS -X POST "$base/api/v1/tenants" -H 'Content-Type: application/json' -d '{"name":"Bench","slug":"bench",
  "admin":{"email":"ann@bench.test","password":"a long bench password","display_name":"Ann"}}' >/dev/null
jwt="$(curl -fsS -X POST "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
	-d '{"tenant":"bench","email":"ann@bench.test","password":"a long bench password"}' | jq -r .access_token)"
pat="$(curl -fsS -X POST "$base/api/v1/me/tokens" -H "Authorization: Bearer $jwt" -H 'Content-Type: application/json' \
	-d '{"name":"bench"}' | jq -r .token)"
for t in "$jwt" "$pat"; do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $t" "$base/api/v1/me")" = 200 ] ||
		{ log "a token does not authenticate"; exit 1; }
done

run() {
	log "$1: wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION GET /api/v1/me (load $(loadavg))"
	wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" --latency -H "Authorization: Bearer $2" "$base/api/v1/me" |
		grep -E 'Requests/sec|Latency|50%|99%|Non-2xx'
}
run "session token (JWT)" "$jwt"
run "personal access token (logged)" "$pat"
sleep 1
rows="$(psql -Atq "$dsn" -c 'SELECT count(*) FROM token_access_log')"
log "token_access_log rows after the PAT run: $rows"
