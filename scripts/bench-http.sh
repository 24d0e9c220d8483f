#!/usr/bin/env bash
# bench-http.sh: the speed of the stack, as ratios to a bare Fiber v2 + HS256 JWT handler measured
# in the same run on the same machine (issue 12, part 2).
#
# Targets, started one after the other on loopback (only one serves while wrk runs):
#   bare      app/cmd/barejwt: verifies the access token and answers a small JSON body;
#   embedded  bin/app serve with no DATABASE_URL / REDIS_URL (embedded SQLite, temp DATA_DIR);
#   postgres  bin/app serve on a fresh database (atelier_bench_http, made anew and dropped) of
#             TEST_DATABASE_URL's server, with the Redis of TEST_REDIS_URL; `bin/app migrate up` first.
# On each service: sign up a tenant, log in, create a workspace with 50 boards, then wrk on
#   GET /api/v1/me, GET /api/v1/boards/{id}, GET /api/v1/workspaces/{ws}/boards (50 boards).
# The bare handler serves the same token on GET /api/v1/me.
#
#   BENCH_PORT (18090)  WRK_THREADS (2)  WRK_CONNECTIONS (32)  WRK_DURATION (10s)  WRK_WARMUP (2s)
#   LOG_LEVEL (info: the service's default, access log included)
# The load average is printed with every figure: the cores may be shared.
set -euo pipefail

cd "$(dirname "$0")/.."
: "${TEST_DATABASE_URL:=postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}"
: "${TEST_REDIS_URL:=redis://127.0.0.1:6379/0}"
: "${BENCH_PORT:=18090}"
: "${WRK_THREADS:=2}"
: "${WRK_CONNECTIONS:=32}"
: "${WRK_DURATION:=10s}"
: "${WRK_WARMUP:=2s}"
: "${LOG_LEVEL:=info}"

log() { printf 'bench-http: %s\n' "$*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

if ! command -v wrk >/dev/null; then
	log "wrk is missing: apt-get install -y wrk"
	if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi
for tool in wrk curl jq psql; do
	command -v "$tool" >/dev/null || { log "$tool is required (apt-get install -y $tool)"; exit 1; }
done

db=atelier_bench_http
dsn="$(printf '%s' "$TEST_DATABASE_URL" | sed -E "s#/[^/?]*(\?|$)#/$db\1#")"
work="$(mktemp -d)"
pid=""
stop() {
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill "$pid" && wait "$pid" 2>/dev/null || true
	fi
	pid=""
}
cleanup() {
	stop
	rm -rf "$work"
	psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
}
trap cleanup EXIT

log "building bin/app and bin/barejwt"
make build >/dev/null
go build -trimpath -o bin/barejwt ./app/cmd/barejwt

base="http://127.0.0.1:$BENCH_PORT"
secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
common_env=(JWT_SECRET="$secret" HTTP_ADDR="127.0.0.1:$BENCH_PORT" LOG_LEVEL="$LOG_LEVEL" ACCESS_TOKEN_TTL=1h
	LOGIN_LIMIT_PER_ACCOUNT=1000 LOGIN_LIMIT_PER_ADDRESS=1000)

start() { # name command...
	local name="$1"
	shift
	env "${common_env[@]}" "$@" >"$work/$name.log" 2>&1 &
	pid=$!
	for _ in $(seq 1 200); do
		curl -s -o /dev/null "$base/" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || { cat "$work/$name.log" >&2; exit 1; }
		sleep 0.1
	done
	log "$name did not start"; cat "$work/$name.log" >&2; exit 1
}

api() { # method path [json]
	local args=(-fsS -X "$1" "$base/api/v1$2" -H 'Content-Type: application/json')
	[ -n "${token:-}" ] && args+=(-H "Authorization: Bearer $token")
	[ $# -ge 3 ] && args+=(-d "$3")
	curl "${args[@]}"
}

# setup: a tenant, its admin's token, a workspace with 50 boards. Sets token, board, ws.
setup() {
	token=""
	api POST /tenants '{"name":"Bench","slug":"bench","admin":{"email":"ann@bench.test","password":"a long bench password","display_name":"Ann"}}' >/dev/null
	token="$(api POST /auth/login '{"tenant":"bench","email":"ann@bench.test","password":"a long bench password"}' | jq -r .access_token)"
	ws="$(api POST /workspaces '{"name":"Bench","slug":"bench"}' | jq -r .id)"
	board=""
	for i in $(seq 1 50); do
		id="$(api POST "/workspaces/$ws/boards" "{\"name\":\"Board $i\",\"visibility\":\"private\"}" | jq -r .id)"
		[ -n "$board" ] || board="$id"
	done
	local n
	n="$(api GET "/workspaces/$ws/boards?limit=100" | jq '.items | length')"
	[ "$n" = 50 ] || { log "the workspace lists $n boards, not 50"; exit 1; }
}

cat >"$work/report.lua" <<'LUA'
done = function(summary, latency, requests)
	io.write(string.format("RESULT %.1f %.3f %.3f %d %d\n", summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.requests,
		summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
LUA

results="$work/results"
: >"$results"
load() { # target route path
	local target="$1" route="$2" path="$3" code before out
	code="$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$base$path")"
	[ "$code" = 200 ] || { log "$target GET $path answered $code"; exit 1; }
	wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_WARMUP" -H "Authorization: Bearer $token" "$base$path" >/dev/null
	before="$(loadavg)"
	out="$(wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"$WRK_DURATION" -H "Authorization: Bearer $token" \
		-s "$work/report.lua" "$base$path" | sed -n 's/^RESULT //p')"
	echo "$target|$route|$out|$before" >>"$results"
	log "$target $route: $out (req/s p50 p99 requests errors; load before $before)"
}

echo "bench-http: $(nproc) cores, Go $(go env GOVERSION), wrk -t$WRK_THREADS -c$WRK_CONNECTIONS -d$WRK_DURATION, LOG_LEVEL=$LOG_LEVEL, load average at start $(loadavg)"

# The embedded default.
log "embedded: starting"
start embedded DATA_DIR="$work/data" ./bin/app serve
setup
# The bare handler runs on the embedded service's token (same secret); the service is stopped meanwhile.
stop
start bare ./bin/barejwt
load bare "GET /me (bare Fiber+JWT)" /api/v1/me
stop
start embedded DATA_DIR="$work/data" ./bin/app serve
load embedded "GET /me" /api/v1/me
load embedded "GET /boards/{id}" "/api/v1/boards/$board"
load embedded "GET /workspaces/{ws}/boards" "/api/v1/workspaces/$ws/boards"
stop

# PostgreSQL and Redis.
log "postgres: fresh database $db"
psql -q "$TEST_DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db" >/dev/null
env DATABASE_URL="$dsn" DATA_DIR="$work/pgdata" ./bin/app migrate up >/dev/null
start postgres DATABASE_URL="$dsn" REDIS_URL="$TEST_REDIS_URL" DATA_DIR="$work/pgdata" ./bin/app serve
setup
load postgres "GET /me" /api/v1/me
load postgres "GET /boards/{id}" "/api/v1/boards/$board"
load postgres "GET /workspaces/{ws}/boards" "/api/v1/workspaces/$ws/boards"
stop

echo
awk -F'|' '
	{ split($3, r, " "); rps[NR] = r[1]; p50[NR] = r[2]; p99[NR] = r[3]; err[NR] = r[5]; t[NR] = $1; rt[NR] = $2; la[NR] = $4
	  if ($1 == "bare") bare = r[1] }
	END {
		printf "%-9s %-34s %10s %9s %9s %7s %8s %6s  %s\n", "target", "route", "req/s", "p50 ms", "p99 ms", "p99/p50", "vs bare", "errors", "load avg before"
		for (i = 1; i <= NR; i++)
			printf "%-9s %-34s %10.0f %9.2f %9.2f %7.1f %7.1f%% %6d  %s\n", t[i], rt[i], rps[i], p50[i], p99[i],
				(p50[i] > 0 ? p99[i] / p50[i] : 0), 100 * rps[i] / bare, err[i], la[i]
	}' "$results"
echo "load average at end: $(loadavg)"
